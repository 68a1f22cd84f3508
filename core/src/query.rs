//! Validation of list and log queries: pure functions from what a caller passes to what a
//! store runs. Every rejection names the parameter, with the reference SDK's spelling.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use uuid::Uuid;

use bifrost_types::{ExecutionStatus, StreamId};

use crate::InvalidArgument;
use crate::identity::Scope;

/// Default number of executions `list` returns.
pub const DEFAULT_LIST_LIMIT: u32 = 50;
/// Most executions one `list` call returns; larger limits are lowered to it.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// Default number of log entries one `get_current_logs` call returns.
pub const DEFAULT_LOG_COUNT: u32 = 100;
/// Most log entries one `get_current_logs` call returns; larger counts are lowered to it.
pub use bifrost_types::MAX_LOG_COUNT;
/// Longest workflow name, in bytes (UTF-8): what a run may record and a `list` filter may
/// ask for. Longer names are `invalid-argument`.
pub const MAX_WORKFLOW_NAME_BYTES: usize = 255;

/// Whether a date bound or a cursor position is in range: in the years 1 to 9999 (UTC),
/// from [`earliest_instant`] to the end of [`latest_instant`]'s microsecond. Dates outside
/// are `invalid-argument`, on every backend alike.
pub fn in_date_range(t: &DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&t.year())
}

/// The earliest instant a date bound or a cursor may name: 0001-01-01T00:00:00Z.
pub fn earliest_instant() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
        .and_utc()
}

/// The latest instant a date bound or a cursor may name: 9999-12-31T23:59:59.999999Z.
pub fn latest_instant() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .expect("a valid date")
        .and_utc()
}

/// Checks a workflow name as recorded for a run or asked for in a filter: 1 to
/// [`MAX_WORKFLOW_NAME_BYTES`] bytes.
pub fn validate_workflow_name(name: &str) -> Result<(), InvalidArgument> {
    if name.is_empty() {
        return Err(InvalidArgument::new("workflow_name", "must not be empty"));
    }
    if name.len() > MAX_WORKFLOW_NAME_BYTES {
        return Err(InvalidArgument::new(
            "workflow_name",
            format!(
                "is {} bytes long; at most {MAX_WORKFLOW_NAME_BYTES} are allowed",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// The filters of `list` as a caller passes them, not yet validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Exact workflow name.
    pub workflow_name: Option<String>,
    /// Exact status.
    pub status: Option<ExecutionStatus>,
    /// ISO-8601 lower bound on `started_at`.
    pub start_date: Option<String>,
    /// ISO-8601 upper bound on `started_at`.
    pub end_date: Option<String>,
    /// Page size; default 50, capped at 1000.
    pub limit: Option<u32>,
}

/// A validated `list` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Exact workflow name.
    pub workflow_name: Option<String>,
    /// Exact status.
    pub status: Option<ExecutionStatus>,
    /// `started_at >= started_from`.
    pub started_from: Option<DateTime<Utc>>,
    /// `started_at <= started_until`.
    pub started_until: Option<DateTime<Utc>>,
    /// At most this many rows, 1..=1000.
    pub limit: u32,
    /// Only rows after this position in the newest-first order.
    pub after: Option<Cursor>,
}

impl ListFilter {
    /// Validates the filter, with an optional continuation cursor.
    pub fn validate(&self, cursor: Option<&str>) -> Result<ListQuery, InvalidArgument> {
        let limit = match self.limit {
            None => DEFAULT_LIST_LIMIT,
            Some(0) => return Err(InvalidArgument::new("limit", "must be at least 1")),
            Some(n) => n.min(MAX_LIST_LIMIT),
        };
        // Stores keep microseconds: a lower bound between two microseconds starts at the
        // later one, an upper bound ends at the earlier one. Both are rounded here, not by
        // the driver: sqlx sends PostgreSQL microseconds since 2000 rounded towards zero,
        // which moves an upper bound before 2000 up to the next microsecond.
        let started_from = self
            .start_date
            .as_deref()
            .map(|s| {
                parse_bound(s, Bound::Start).map_err(|r| InvalidArgument::new("start_date", r))
            })
            .transpose()?
            .map(ceil_to_micros);
        let started_until = self
            .end_date
            .as_deref()
            .map(|s| parse_bound(s, Bound::End).map_err(|r| InvalidArgument::new("end_date", r)))
            .transpose()?
            .map(floor_to_micros);
        if let (Some(from), Some(until)) = (started_from, started_until)
            && until < from
        {
            return Err(InvalidArgument::new("end_date", "is before start_date"));
        }
        if let Some(name) = &self.workflow_name {
            validate_workflow_name(name)?;
        }
        let after = cursor.map(Cursor::decode).transpose()?;
        Ok(ListQuery {
            // Names are stored with U+0000 replaced; the filter matches them so.
            workflow_name: self
                .workflow_name
                .clone()
                .map(crate::storable::storable_text),
            status: self.status,
            started_from,
            started_until,
            limit,
            after,
        })
    }
}

/// What `list` looks at in a row: its filters, its place in the order and its visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowKey<'a> {
    /// Execution id.
    pub id: Uuid,
    /// Workflow name.
    pub workflow_name: &'a str,
    /// Current status.
    pub status: ExecutionStatus,
    /// When it started (a queued execution: when it was queued).
    pub started_at: DateTime<Utc>,
    /// Who started it.
    pub executed_by: Uuid,
    /// Its organisation.
    pub organization_id: Option<Uuid>,
}

impl ListQuery {
    /// Whether a row belongs in this query's answer for a caller with `scope`: visible,
    /// matching every filter, and after the cursor. A store that holds its rows in memory
    /// sorts the admitted rows with [`newest_first`] and keeps the first `limit`; the SQL
    /// stores run the same conditions as a query.
    pub fn admits(&self, scope: &Scope, row: &RowKey<'_>) -> bool {
        scope.contains(row.executed_by, row.organization_id)
            && self
                .workflow_name
                .as_deref()
                .is_none_or(|w| w == row.workflow_name)
            && self.status.is_none_or(|s| s == row.status)
            && self.started_from.is_none_or(|from| row.started_at >= from)
            && self
                .started_until
                .is_none_or(|until| row.started_at <= until)
            && self.after.is_none_or(|after| {
                (row.started_at.timestamp_micros(), row.id) < (after.started_at_micros, after.id)
            })
    }
}

/// The order of `list`: newest `started_at` first, then the greater id first (ids compare
/// as bytes, as PostgreSQL compares UUIDs).
pub fn newest_first(a: &RowKey<'_>, b: &RowKey<'_>) -> std::cmp::Ordering {
    (b.started_at, b.id).cmp(&(a.started_at, a.id))
}

fn floor_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t - TimeDelta::nanoseconds(i64::from(t.timestamp_subsec_nanos() % 1000))
}

fn ceil_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let extra = t.timestamp_subsec_nanos() % 1000;
    if extra == 0 {
        t
    } else {
        t + TimeDelta::nanoseconds(i64::from(1000 - extra))
    }
}

#[derive(Clone, Copy)]
enum Bound {
    Start,
    End,
}

/// Parses an ISO-8601 bound into a UTC instant.
///
/// - A date-time with an offset (`2026-04-25T10:00:00+02:00`, `...Z`) is converted to UTC.
/// - A date-time without one is taken as UTC.
/// - A date alone is that day in UTC: its first microsecond for a start bound, its last
///   for an end bound, so an end date covers the whole day.
fn parse_bound(s: &str, bound: Bound) -> Result<DateTime<Utc>, String> {
    let t = parse_instant(s.trim(), bound)?;
    if !in_date_range(&t) {
        return Err(format!(
            "{s:?} is out of range: dates must be from 0001-01-01 to 9999-12-31 (UTC)"
        ));
    }
    Ok(t)
}

fn parse_instant(s: &str, bound: Bound) -> Result<DateTime<Utc>, String> {
    let expected = "expected an ISO-8601 date (2026-04-25) or date-time (2026-04-25T10:00:00Z, 2026-04-25T12:00:00+02:00)";
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // ISO-8601 forms RFC 3339 does not take: offsets without a colon, no seconds.
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        return match bound {
            Bound::Start => Ok(start),
            Bound::End => start
                .checked_add_days(Days::new(1))
                .and_then(|next| next.checked_sub_signed(TimeDelta::microseconds(1)))
                .ok_or_else(|| format!("{s:?} is out of range")),
        };
    }
    Err(format!("{s:?} is not a date: {expected}"))
}

/// A position in the newest-first order of `list`: the last row of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `started_at` of the last row, in microseconds since the epoch.
    pub started_at_micros: i64,
    /// Id of the last row.
    pub id: Uuid,
}

impl Cursor {
    /// The cursor after a row.
    pub fn after(started_at: DateTime<Utc>, id: Uuid) -> Self {
        Self {
            started_at_micros: started_at.timestamp_micros(),
            id,
        }
    }

    /// `started_at` of the last row.
    pub fn started_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.started_at_micros).expect("validated on decode")
    }

    /// The opaque text form handed to callers.
    pub fn encode(&self) -> String {
        // A sign and the magnitude: `{:x}` of a negative i64 is its two's complement,
        // which does not parse back.
        let sign = if self.started_at_micros < 0 { "-" } else { "" };
        format!(
            "v1.{sign}{:x}.{}",
            self.started_at_micros.unsigned_abs(),
            self.id.simple()
        )
    }

    /// Parses the text form; anything else is an invalid `cursor`.
    pub fn decode(s: &str) -> Result<Self, InvalidArgument> {
        let bad = || InvalidArgument::new("cursor", "not a cursor returned by list_page");
        let rest = s.strip_prefix("v1.").ok_or_else(bad)?;
        let (micros, id) = rest.split_once('.').ok_or_else(bad)?;
        let started_at_micros = i64::from_str_radix(micros, 16).map_err(|_| bad())?;
        let at = DateTime::from_timestamp_micros(started_at_micros).ok_or_else(bad)?;
        if !in_date_range(&at) {
            return Err(bad());
        }
        if id.len() != 32 {
            return Err(bad());
        }
        let id = Uuid::try_parse(id).map_err(|_| bad())?;
        Ok(Self {
            started_at_micros,
            id,
        })
    }
}

/// A validated log read: from `start` inclusive, at most `count` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRange {
    /// First entry id to return (inclusive).
    pub start: StreamId,
    /// At most this many entries, 1..=1000.
    pub count: u32,
}

impl LogRange {
    /// Validates `start` (default `"0"`) and `count` (default 100, capped at 1000).
    pub fn validate(start: Option<&str>, count: Option<u32>) -> Result<Self, InvalidArgument> {
        let start = match start {
            None => StreamId::MIN,
            Some(s) => StreamId::parse_start(s)
                .map_err(|e| InvalidArgument::new("start", e.to_string()))?,
        };
        Self::from_id(start, count)
    }

    /// Validates `count` (default 100, capped at 1000) of a read from `start`.
    pub fn from_id(start: StreamId, count: Option<u32>) -> Result<Self, InvalidArgument> {
        let count = match count {
            None => DEFAULT_LOG_COUNT,
            Some(0) => return Err(InvalidArgument::new("count", "must be at least 1")),
            Some(n) => n.min(MAX_LOG_COUNT),
        };
        Ok(Self { start, count })
    }
}

/// Parses an execution id; anything but a UUID is an invalid `execution_id`.
pub fn parse_execution_id(s: &str) -> Result<Uuid, InvalidArgument> {
    Uuid::try_parse(s.trim())
        .map_err(|_| InvalidArgument::new("execution_id", format!("{s:?} is not a UUID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_workflow_name_filter_with_nul_matches_names_as_stored() {
        let filter = ListFilter {
            workflow_name: Some("w\0x".into()),
            ..ListFilter::default()
        };
        let q = filter.validate(None).unwrap();
        assert_eq!(q.workflow_name.as_deref(), Some("w\u{FFFD}x"));
    }

    fn filter(start: Option<&str>, end: Option<&str>) -> ListFilter {
        ListFilter {
            start_date: start.map(Into::into),
            end_date: end.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn dates_with_offsets_become_utc() {
        let q = filter(
            Some("2026-04-25T12:00:00+02:00"),
            Some("2026-04-25T23:30:00-0130"),
        )
        .validate(None)
        .unwrap();
        assert_eq!(q.started_from, Some(utc("2026-04-25T10:00:00Z")));
        assert_eq!(q.started_until, Some(utc("2026-04-26T01:00:00Z")));
    }

    #[test]
    fn date_only_end_covers_the_whole_day() {
        let q = filter(Some("2026-04-25"), Some("2026-04-25"))
            .validate(None)
            .unwrap();
        assert_eq!(q.started_from, Some(utc("2026-04-25T00:00:00Z")));
        assert_eq!(q.started_until, Some(utc("2026-04-25T23:59:59.999999Z")));
    }

    #[test]
    fn sub_microsecond_start_rounds_up() {
        let q = filter(Some("2026-04-25T10:00:00.123455999Z"), None)
            .validate(None)
            .unwrap();
        assert_eq!(q.started_from, Some(utc("2026-04-25T10:00:00.123456Z")));
    }

    #[test]
    fn sub_microsecond_end_rounds_down_before_and_after_2000() {
        for (end, want) in [
            (
                "1969-12-31T23:59:59.999999999Z",
                "1969-12-31T23:59:59.999999Z",
            ),
            (
                "2026-04-25T10:00:00.123456001Z",
                "2026-04-25T10:00:00.123456Z",
            ),
        ] {
            let q = filter(None, Some(end)).validate(None).unwrap();
            assert_eq!(q.started_until, Some(utc(want)), "end_date {end}");
        }
    }

    #[test]
    fn naive_date_time_is_utc() {
        let q = filter(Some("2026-04-25T08:15"), None)
            .validate(None)
            .unwrap();
        assert_eq!(q.started_from, Some(utc("2026-04-25T08:15:00Z")));
    }

    #[test]
    fn dates_and_cursors_outside_years_1_to_9999_are_invalid() {
        for (start, end, param) in [
            (Some("-5000-01-01"), None, "start_date"),
            (None, Some("+10000-01-01"), "end_date"),
            (Some("0000-12-31T23:59:59.999999Z"), None, "start_date"),
            (None, Some("0000-12-31"), "end_date"),
        ] {
            match filter(start, end).validate(None) {
                Err(InvalidArgument { parameter, reason }) => {
                    assert_eq!(parameter, param);
                    assert!(reason.contains("out of range"), "{reason}");
                }
                other => panic!("{start:?}/{end:?}: {other:?}"),
            }
        }
        // The edges themselves are in range.
        let q = filter(Some("0001-01-01"), Some("9999-12-31"))
            .validate(None)
            .unwrap();
        assert_eq!(q.started_from, Some(earliest_instant()));
        assert_eq!(q.started_until, Some(latest_instant()));
        // A forged cursor before year 1 (or after 9999) is not a cursor.
        let id = Uuid::nil().simple();
        for micros in [-5_000_000_000_000_000_000i64, 253_402_300_800_000_000] {
            let forged = if micros < 0 {
                format!("v1.-{:x}.{id}", -micros)
            } else {
                format!("v1.{micros:x}.{id}")
            };
            let e = ListFilter::default().validate(Some(&forged)).unwrap_err();
            assert_eq!(e.parameter, "cursor", "{forged}");
        }
        let edge = Cursor::after(earliest_instant(), Uuid::nil()).encode();
        assert!(ListFilter::default().validate(Some(&edge)).is_ok());
    }

    #[test]
    fn workflow_names_are_1_to_255_bytes() {
        assert!(validate_workflow_name(&"w".repeat(255)).is_ok());
        for name in [String::new(), "w".repeat(256), "é".repeat(128)] {
            let e = validate_workflow_name(&name).unwrap_err();
            assert_eq!(e.parameter, "workflow_name");
        }
        let filter = ListFilter {
            workflow_name: Some("w".repeat(3000)),
            ..Default::default()
        };
        assert_eq!(
            filter.validate(None).unwrap_err().parameter,
            "workflow_name"
        );
    }

    #[test]
    fn bad_dates_name_the_parameter() {
        for (start, end, param) in [
            (Some("yesterday"), None, "start_date"),
            (None, Some("2026-13-01"), "end_date"),
            (Some("2026-02-30"), None, "start_date"),
            (Some("'; DROP TABLE executions; --"), None, "start_date"),
            (Some("2026-04-26"), Some("2026-04-25"), "end_date"),
        ] {
            match filter(start, end).validate(None) {
                Err(InvalidArgument { parameter, .. }) => assert_eq!(parameter, param),
                other => panic!("{start:?}/{end:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn limits() {
        let lim = |l| {
            ListFilter {
                limit: l,
                ..Default::default()
            }
            .validate(None)
        };
        assert_eq!(lim(None).unwrap().limit, 50);
        assert_eq!(lim(Some(1)).unwrap().limit, 1);
        assert_eq!(lim(Some(1000)).unwrap().limit, 1000);
        assert_eq!(lim(Some(1001)).unwrap().limit, 1000);
        assert_eq!(lim(Some(u32::MAX)).unwrap().limit, 1000);
        assert!(matches!(
            lim(Some(0)),
            Err(InvalidArgument {
                parameter: "limit",
                ..
            })
        ));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor::after(utc("2026-04-25T10:00:00.123456Z"), Uuid::new_v4());
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert_eq!(c.started_at(), utc("2026-04-25T10:00:00.123456Z"));
        for bad in [
            "",
            "v1.",
            "v1.zz.00",
            "v2.1.0123456789abcdef0123456789abcdef",
            "v1.1.xyz",
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn admits_applies_scope_filters_and_cursor_in_list_order() {
        let (me, other, org) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let t = |s| utc(s);
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        let rows = [
            RowKey {
                id: ids[0],
                workflow_name: "a",
                status: ExecutionStatus::Success,
                started_at: t("2026-04-25T10:00:00Z"),
                executed_by: me,
                organization_id: Some(org),
            },
            RowKey {
                id: ids[1],
                workflow_name: "b",
                status: ExecutionStatus::Failed,
                started_at: t("2026-04-26T10:00:00Z"),
                executed_by: me,
                organization_id: Some(org),
            },
            RowKey {
                id: ids[2],
                workflow_name: "a",
                status: ExecutionStatus::Failed,
                started_at: t("2026-04-26T10:00:00Z"),
                executed_by: other,
                organization_id: Some(org),
            },
            RowKey {
                id: ids[3],
                workflow_name: "a",
                status: ExecutionStatus::Success,
                started_at: t("2026-04-27T10:00:00Z"),
                executed_by: me,
                organization_id: None,
            },
        ];
        let answer = |scope: Scope, filter: ListFilter, cursor: Option<&str>| {
            let q = filter.validate(cursor).unwrap();
            let mut found: Vec<_> = rows.iter().filter(|r| q.admits(&scope, r)).collect();
            found.sort_by(|a, b| newest_first(a, b));
            found.into_iter().map(|r| r.id).collect::<Vec<_>>()
        };
        // Newest first; equal start times by the greater id first.
        let (hi, lo) = if ids[1] > ids[2] {
            (ids[1], ids[2])
        } else {
            (ids[2], ids[1])
        };
        assert_eq!(
            answer(Scope::All, ListFilter::default(), None),
            vec![ids[3], hi, lo, ids[0]]
        );
        // A regular user of `org` sees only their own executions in it.
        let mine = Scope::OwnExecutions {
            user_id: me,
            organization_id: Some(org),
        };
        assert_eq!(
            answer(mine, ListFilter::default(), None),
            vec![ids[1], ids[0]]
        );
        // Filters are ANDed; an end date covers its whole day.
        let filter = ListFilter {
            workflow_name: Some("a".into()),
            status: Some(ExecutionStatus::Failed),
            end_date: Some("2026-04-26".into()),
            ..Default::default()
        };
        assert_eq!(answer(Scope::All, filter, None), vec![ids[2]]);
        // A cursor after the second row continues with the third.
        let cursor = Cursor::after(t("2026-04-26T10:00:00Z"), hi).encode();
        assert_eq!(
            answer(Scope::All, ListFilter::default(), Some(&cursor)),
            vec![lo, ids[0]]
        );
    }

    #[test]
    fn log_ranges() {
        assert_eq!(
            LogRange::validate(None, None).unwrap(),
            LogRange {
                start: StreamId::MIN,
                count: 100
            }
        );
        assert_eq!(
            LogRange::validate(Some("5-1"), Some(5000)).unwrap().count,
            1000
        );
        assert!(matches!(
            LogRange::validate(Some("soon"), None),
            Err(InvalidArgument {
                parameter: "start",
                ..
            })
        ));
        assert!(matches!(
            LogRange::validate(None, Some(0)),
            Err(InvalidArgument {
                parameter: "count",
                ..
            })
        ));
    }
}
