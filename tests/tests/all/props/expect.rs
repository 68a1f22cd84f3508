//! Expected answers: the model's prediction of each call, and the comparisons of JSON and ids.

use super::*;

/// An error a call should answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Want {
    Invalid(&'static str),
    /// `not-found`, naming this id if given.
    NotFound(Option<Uuid>),
    Denied(Uuid),
    NoContext,
    TooLarge,
}

pub(crate) fn is_want(e: &types::Error, w: &Want) -> bool {
    match (e, w) {
        (types::Error::InvalidArgument(ia), Want::Invalid(p)) => {
            ia.parameter == *p && !ia.reason.is_empty()
        }
        (types::Error::NotFound(m), Want::NotFound(id)) => id.is_none_or(|id| *m == id.to_string()),
        (types::Error::PermissionDenied(m), Want::Denied(id)) => *m == id.to_string(),
        (types::Error::NoExecutionContext, Want::NoContext) => true,
        (types::Error::TooLarge(_), Want::TooLarge) => true,
        _ => false,
    }
}

/// The outer result: an `Err` would trap the guest.
pub(crate) fn no_trap<R: HostAnswer>(call: &str, r: R) -> Result<R::Answer, TestCaseError> {
    r.answer()
        .map_err(|e| TestCaseError::fail(format!("{call}: host error, a trap of the guest: {e:?}")))
}

/// What a host function's return becomes for the guest: a trap (`Err`) or the answer.
pub(crate) trait HostAnswer {
    type Answer;
    fn answer(self) -> wasmtime::Result<Self::Answer>;
}

/// A function without a WIT error: an `Err` traps the guest.
impl<T> HostAnswer for wasmtime::Result<T> {
    type Answer = T;
    fn answer(self) -> wasmtime::Result<T> {
        self
    }
}

/// A function with a WIT error: every [`ApiError`] is an answer, as `convert_error` makes it.
impl<T> HostAnswer for Result<T, ApiError> {
    type Answer = Result<T, types::Error>;
    fn answer(self) -> wasmtime::Result<Result<T, types::Error>> {
        Ok(self.map_err(types::Error::from))
    }
}

/// Bad input is never the host's fault.
pub(crate) fn no_internal<T>(call: &str, r: &Result<T, types::Error>) -> TestCaseResult {
    if let Err(types::Error::Internal(m)) = r {
        return Err(TestCaseError::fail(format!("{call}: internal error: {m}")));
    }
    Ok(())
}

pub(crate) fn parse_uuid(s: &str, what: &str) -> Result<Uuid, TestCaseError> {
    Uuid::try_parse(s).map_err(|e| TestCaseError::fail(format!("{what} {s:?}: {e}")))
}

/// JSON equality, floats within a relative 1e-14: serde_json parses floats fast rather
/// than exactly (the workspace does not enable `float_roundtrip`), so a value that went
/// through text twice may differ in its last bits (seen: a variable set to a float read
/// back as 6.37870812755502e-41 where the value set parses as 6.378708127555028e-41).
/// Numbers beyond `f64` compare as exact decimals: PostgreSQL's `jsonb` keeps their value
/// but not their spelling (`1e309` reads back as a 1 and 309 zeros).
pub(crate) fn json_close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || decimal(&x.to_string()) == decimal(&y.to_string())
                || match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => p == q || (p - q).abs() <= 1e-14 * p.abs().max(q.abs()),
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_close(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
        }
        _ => a == b,
    }
}

/// A JSON number as an exact decimal: sign, significant digits, and the power of ten of
/// the last of them; `None` for text that is not a JSON number.
pub(crate) fn decimal(n: &str) -> Option<(bool, String, i64)> {
    let (negative, n) = n.strip_prefix('-').map_or((false, n), |r| (true, r));
    let (mantissa, exp) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], n[i + 1..].parse::<i64>().ok()?),
        None => (n, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut exp = exp - frac.len() as i64;
    let trimmed = digits.trim_end_matches('0');
    exp += (digits.len() - trimmed.len()) as i64;
    let significant = trimmed.trim_start_matches('0').to_owned();
    if significant.is_empty() {
        return Some((false, String::new(), 0));
    }
    Some((negative, significant, exp))
}

/// The first place where `got` and `want` differ (beyond [`json_close`]), briefly.
pub(crate) fn json_diff(path: &str, got: &Value, want: &Value) -> Option<String> {
    let brief = |v: &Value| {
        let s = v.to_string();
        if s.len() > 120 {
            format!("{}… ({} bytes)", &s[..s.floor_char_boundary(120)], s.len())
        } else {
            s
        }
    };
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                let Some(gv) = g.get(k) else {
                    return Some(format!("{path}/{k:?}: missing, want {}", brief(wv)));
                };
                if let Some(d) = json_diff(&format!("{path}/{k:?}"), gv, wv) {
                    return Some(d);
                }
            }
            g.keys()
                .find(|k| !w.contains_key(*k))
                .map(|k| format!("{path}/{k:?}: unexpected"))
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => g
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (gv, wv))| json_diff(&format!("{path}/{i}"), gv, wv)),
        _ if json_close(got, want) => None,
        _ => Some(format!("{path}: got {}, want {}", brief(got), brief(want))),
    }
}

/// Whether the stream id `start` is valid, by the WIT's grammar: after trimming
/// whitespace, `<ms>-<seq>`, `<ms>` or `0` / `-`, decimal u64s.
pub(crate) fn start_oracle(s: &str) -> Option<StreamId> {
    let t = s.trim();
    if t == "-" || t == "0" {
        return Some(StreamId::MIN);
    }
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match t.split_once('-') {
        None => {
            let p = t;
            digits(p)
                .then(|| p.parse().ok())
                .flatten()
                .map(|ms| StreamId { ms, seq: 0 })
        }
        Some((ms, seq)) if digits(ms) && digits(seq) => Some(StreamId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        }),
        Some(_) => None,
    }
}

/// How deeply a JSON value nests (0 for a scalar), counted independently of the host.
pub(crate) fn depth_oracle(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            serde_json::Value::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// An independent reading of a date bound, for the forms that are clearly valid: an RFC
/// 3339 date-time, or a plain `YYYY-MM-DD` (the whole day, in UTC).
pub(crate) fn date_oracle(s: &str, end: bool) -> Option<DateTime<Utc>> {
    // Dates from year 1 to 9999 are in range (`bifrost_core::query::earliest_instant`).
    date_reading(s, end).filter(|t| (1..=9999).contains(&t.year()))
}

pub(crate) fn date_reading(s: &str, end: bool) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) {
        return None;
    }
    if !digits(5..7) || !digits(8..10) {
        return None;
    }
    let day = NaiveDate::from_ymd_opt(
        t[0..4].parse().ok()?,
        t[5..7].parse().ok()?,
        t[8..10].parse().ok()?,
    )?;
    let start = day.and_hms_opt(0, 0, 0)?.and_utc();
    if end {
        start.checked_add_signed(TimeDelta::days(1) - TimeDelta::microseconds(1))
    } else {
        Some(start)
    }
}

/// `list` arguments.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilterIn {
    pub(crate) workflow_name: Option<String>,
    pub(crate) status: Option<ExecutionStatus>,
    pub(crate) start_date: Option<String>,
    pub(crate) end_date: Option<String>,
    pub(crate) limit: Option<u32>,
}

impl FilterIn {
    pub(crate) fn to_wit(&self) -> types::ListFilter {
        types::ListFilter {
            workflow_name: self.workflow_name.clone(),
            status: self.status.map(types::ExecutionStatus::from),
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            limit: self.limit,
        }
    }
}

/// The rows a list query should return (all of them, newest first) and its page size.
pub(crate) type ListModel = Result<(Vec<Uuid>, usize), Want>;

impl Fixture {
    /// What `list` / `list-page` should answer for `who`.
    pub(crate) fn model_list(
        &self,
        who: &Identity,
        f: &FilterIn,
        cursor: Option<&str>,
    ) -> Result<ListModel, TestCaseError> {
        let filter = query::ListFilter {
            workflow_name: f.workflow_name.clone(),
            status: f.status,
            start_date: f.start_date.clone(),
            end_date: f.end_date.clone(),
            limit: f.limit,
        };
        let validated = filter.validate(cursor);
        let rejected = match &validated {
            Ok(_) => None,
            Err(e) => Some(e.parameter),
        };
        // Cross-checks of the validator against independent readings.
        if f.limit == Some(0) {
            prop_assert_eq!(rejected, Some("limit"), "limit 0 must be refused");
        }
        let start = f.start_date.as_deref().map(|s| (s, date_oracle(s, false)));
        let end = f.end_date.as_deref().map(|s| (s, date_oracle(s, true)));
        for (param, bound) in [("start_date", start), ("end_date", end)] {
            let Some((text, reading)) = bound else {
                continue;
            };
            if reading.is_some() && rejected == Some(param) {
                // Refused only because it ends before the start (as the host reads that).
                let from = query::ListFilter {
                    start_date: f.start_date.clone(),
                    ..Default::default()
                }
                .validate(None)
                .ok()
                .and_then(|q| q.started_from);
                let before_start =
                    param == "end_date" && from.zip(reading).is_some_and(|(a, b)| b < a);
                prop_assert!(
                    before_start,
                    "{param} {text:?} is a valid date but was refused"
                );
            }
            if !text.trim().bytes().any(|b| b.is_ascii_digit()) {
                prop_assert!(
                    rejected.is_some(),
                    "{param} {text:?} has no digit but was accepted"
                );
            }
        }
        let q = match validated {
            Ok(q) => q,
            Err(_) => return Ok(Err(Want::Invalid(rejected.expect("an invalid argument")))),
        };
        if let Some((_, Some(t))) = start {
            // Stores keep microseconds; a lower bound between two starts at the later one.
            let extra = t.timestamp_subsec_nanos() % 1000;
            let t = if extra == 0 {
                t
            } else {
                t + chrono::TimeDelta::nanoseconds(i64::from(1000 - extra))
            };
            prop_assert_eq!(q.started_from, Some(t));
        }
        if let Some((_, Some(t))) = end {
            // An upper bound between two microseconds ends at the earlier one.
            let t =
                t - chrono::TimeDelta::nanoseconds(i64::from(t.timestamp_subsec_nanos() % 1000));
            prop_assert_eq!(q.started_until, Some(t));
        }
        prop_assert_eq!(q.limit, f.limit.map_or(50, |l| l.min(1000)));

        let mut rows: Vec<&Seeded> = self
            .seeds
            .iter()
            .filter(|s| who.can_view(s.by, s.org))
            .filter(|s| {
                f.workflow_name
                    .as_ref()
                    .is_none_or(|n| storable_text(n.clone()) == s.workflow)
            })
            .filter(|s| f.status.is_none_or(|st| st == s.status))
            .filter(|s| q.started_from.is_none_or(|t| s.started_at >= t))
            .filter(|s| q.started_until.is_none_or(|t| s.started_at <= t))
            .filter(|s| {
                q.after.is_none_or(|c| {
                    (s.started_at.timestamp_micros(), s.id) < (c.started_at_micros, c.id)
                })
            })
            .collect();
        rows.sort_by_key(|s| std::cmp::Reverse((s.started_at, s.id)));
        Ok(Ok((rows.iter().map(|s| s.id).collect(), q.limit as usize)))
    }

    /// Checks one returned execution against its seed, the visibility rule and redaction.
    pub(crate) fn check_row(
        &self,
        who: &Identity,
        r: &types::WorkflowExecution,
        from_get: bool,
    ) -> TestCaseResult {
        let id = parse_uuid(&r.execution_id, "execution_id")?;
        prop_assert_eq!(&r.execution_id, &id.to_string());
        let Some(s) = self.seed(id) else {
            return Err(TestCaseError::fail(format!("unknown execution {id}")));
        };
        let by = parse_uuid(&r.executed_by, "executed_by")?;
        let org = r
            .org_id
            .as_deref()
            .map(|o| parse_uuid(o, "org_id"))
            .transpose()?;
        prop_assert!(who.can_view(by, org), "{who:?} may not see {id}");
        prop_assert_eq!((by, org), (s.by, s.org));
        prop_assert_eq!(&r.workflow_name, &s.workflow);
        prop_assert_eq!(ExecutionStatus::from(r.status), s.status);
        prop_assert_eq!(
            r.started_at.clone(),
            Some(bifrost_core::model::rfc3339(&s.started_at))
        );
        prop_assert!(DateTime::parse_from_rfc3339(&r.created_at).is_ok());
        prop_assert_eq!(
            serde_json::from_str::<Value>(&r.input_data).ok(),
            Some(json!({"seeded": true}))
        );
        if who.is_platform_admin {
            prop_assert_eq!(r.peak_memory_bytes, s.finished.then_some(1));
            if id == self.running.execution.execution_id {
                let want = self.vars.lock().expect("vars model").clone();
                let got = r
                    .variables
                    .as_deref()
                    .map(serde_json::from_str::<Value>)
                    .transpose()
                    .map_err(|e| TestCaseError::fail(format!("variables: {e}")))?;
                let want = want.map(Value::Object);
                let diff = match (&got, &want) {
                    (None, None) => None,
                    (Some(g), Some(w)) => json_diff("", g, w),
                    _ => Some(format!("{got:?} / {want:?}")),
                };
                if let Some(diff) = diff {
                    return Err(TestCaseError::fail(format!(
                        "variables differ from the model: {diff}"
                    )));
                }
            } else {
                prop_assert!(r.variables.is_none());
            }
        } else {
            prop_assert!(
                r.variables.is_none()
                    && r.peak_memory_bytes.is_none()
                    && r.cpu_total_seconds.is_none(),
                "admin-only fields shown to {who:?}"
            );
        }
        match (&r.logs, from_get && s.status.is_final()) {
            (None, false) => {}
            (Some(logs), true) => {
                let got = logs.iter().map(view).collect::<Result<Vec<_>, _>>()?;
                let want: Vec<LogView> = self
                    .persisted
                    .get(&id)
                    .map(|v| v.iter().take(1000).cloned().collect())
                    .unwrap_or_default();
                prop_assert_eq!(got, want);
            }
            (logs, _) => {
                return Err(TestCaseError::fail(format!(
                    "{id} ({:?}, from get: {from_get}): logs {logs:?}",
                    s.status
                )));
            }
        }
        Ok(())
    }

    /// What `get-current-logs` should answer.
    pub(crate) fn model_logs(
        &self,
        who: &Identity,
        current: Option<Uuid>,
        a: &LogsIn,
    ) -> Result<Vec<LogView>, Want> {
        let start = match a.start.as_deref() {
            None => StreamId::MIN,
            Some(s) => start_oracle(s).ok_or(Want::Invalid("start"))?,
        };
        let cap = match a.count {
            Some(0) => return Err(Want::Invalid("count")),
            None => 100,
            Some(n) => n.min(1000),
        } as usize;
        let id = match a.id.as_deref() {
            None => current.ok_or(Want::NoContext)?,
            Some(s) => {
                let id = Uuid::try_parse(s.trim()).map_err(|_| Want::Invalid("execution_id"))?;
                if Some(id) != current {
                    self.visible(who, id)?;
                }
                id
            }
        };
        let live = self.live.lock().expect("live model");
        let source = live
            .get(&id)
            .filter(|v| !v.is_empty())
            .or_else(|| self.persisted.get(&id));
        Ok(source
            .map(|v| {
                v.iter()
                    .filter(|e| e.id >= start)
                    .take(cap)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}
