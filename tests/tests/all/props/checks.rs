//! The calls and their checks: one function per host function, calling it in a case's context and comparing the answer with the model.

use super::*;

pub(crate) fn check_order(rows: &[types::WorkflowExecution]) -> TestCaseResult {
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(started) = r.started_at.as_deref() else {
            return Err(TestCaseError::fail(format!(
                "{} has no started_at",
                r.execution_id
            )));
        };
        let t = DateTime::parse_from_rfc3339(started)
            .map_err(|e| TestCaseError::fail(format!("started_at {started:?}: {e}")))?;
        keys.push((t, r.execution_id.clone()));
    }
    for w in keys.windows(2) {
        prop_assert!(w[0] > w[1], "not newest first: {:?} then {:?}", w[0], w[1]);
    }
    Ok(())
}

pub(crate) async fn check_list(fx: &Fixture, c: &mut Case<'_>, f: &FilterIn) -> TestCaseResult {
    let got = no_trap("list", executions::Host::list(&mut c.ctx, f.to_wit()).await)?;
    no_internal("list", &got)?;
    match (got, fx.model_list(&c.who, f, None)?) {
        (Ok(rows), Ok((all, cap))) => {
            prop_assert!(rows.len() <= f.limit.map_or(50, |l| l.min(1000)) as usize);
            check_order(&rows)?;
            for r in &rows {
                fx.check_row(&c.who, r, false)?;
            }
            let ids: Vec<String> = rows.iter().map(|r| r.execution_id.clone()).collect();
            let want: Vec<String> = all.iter().take(cap).map(Uuid::to_string).collect();
            prop_assert_eq!(ids, want);
        }
        (Err(e), Err(w)) => prop_assert!(is_want(&e, &w), "list: {e:?}, expected {w:?}"),
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "list: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

pub(crate) async fn check_page(
    fx: &Fixture,
    c: &mut Case<'_>,
    f: &FilterIn,
    cursor: &Option<String>,
) -> TestCaseResult {
    let got = no_trap(
        "list_page",
        executions::Host::list_page(&mut c.ctx, f.to_wit(), cursor.clone()).await,
    )?;
    no_internal("list_page", &got)?;
    match (got, fx.model_list(&c.who, f, cursor.as_deref())?) {
        (Ok(page), Ok((all, cap))) => {
            let rows = &page.executions;
            check_order(rows)?;
            for r in rows {
                fx.check_row(&c.who, r, false)?;
            }
            let ids: Vec<String> = rows.iter().map(|r| r.execution_id.clone()).collect();
            let want: Vec<String> = all.iter().take(cap).map(Uuid::to_string).collect();
            prop_assert_eq!(ids, want);
            prop_assert_eq!(
                page.next_cursor.is_some(),
                all.len() > cap,
                "next_cursor {:?} with {} rows after a page of {}",
                page.next_cursor,
                all.len(),
                cap
            );
            if let (Some(next), Some(last)) = (&page.next_cursor, rows.last()) {
                let c = Cursor::decode(next)
                    .map_err(|e| TestCaseError::fail(format!("next_cursor {next:?}: {e}")))?;
                let s = fx
                    .seed(parse_uuid(&last.execution_id, "id")?)
                    .expect("seen");
                prop_assert_eq!(c, Cursor::after(s.started_at, s.id));
            }
        }
        (Err(e), Err(w)) => prop_assert!(is_want(&e, &w), "list_page: {e:?}, expected {w:?}"),
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "list_page: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

pub(crate) async fn check_get(fx: &Fixture, c: &mut Case<'_>, id: &str) -> TestCaseResult {
    let got = no_trap(
        "get",
        executions::Host::get(&mut c.ctx, id.to_owned()).await,
    )?;
    no_internal("get", &got)?;
    let want = Uuid::try_parse(id.trim())
        .map_err(|_| Want::Invalid("execution_id"))
        .and_then(|u| fx.visible(&c.who, u));
    match (got, want) {
        (Ok(row), Ok(s)) => {
            prop_assert_eq!(&row.execution_id, &s.id.to_string());
            fx.check_row(&c.who, &row, true)?;
        }
        (Err(e), Err(w)) => prop_assert!(is_want(&e, &w), "get: {e:?}, expected {w:?}"),
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "get: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

/// `get-current-logs` arguments.
#[derive(Debug, Clone)]
pub(crate) struct LogsIn {
    pub(crate) id: Option<String>,
    pub(crate) start: Option<String>,
    pub(crate) count: Option<u32>,
}

pub(crate) async fn check_logs(fx: &Fixture, c: &mut Case<'_>, a: &LogsIn) -> TestCaseResult {
    let got = no_trap(
        "get_current_logs",
        executions::Host::get_current_logs(&mut c.ctx, a.id.clone(), a.start.clone(), a.count)
            .await,
    )?;
    no_internal("get_current_logs", &got)?;
    match (got, fx.model_logs(&c.who, c.current(), a)) {
        (Ok(entries), Ok(want)) => {
            prop_assert!(entries.len() <= a.count.map_or(100, |n| n.min(1000)) as usize);
            let got = entries.iter().map(view).collect::<Result<Vec<_>, _>>()?;
            for w in got.windows(2) {
                prop_assert!(
                    w[0].id < w[1].id,
                    "not oldest first: {} {}",
                    w[0].id,
                    w[1].id
                );
            }
            prop_assert_eq!(got, want);
        }
        (Err(e), Err(w)) => {
            prop_assert!(is_want(&e, &w), "get_current_logs: {e:?}, expected {w:?}");
        }
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "get_current_logs: got {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

/// How a guest names its own execution when it reads its log back.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Spelling {
    /// No id: the current execution.
    Current,
    Canonical,
    Upper,
    Padded,
    Braced,
    Simple,
    Urn,
}

pub(crate) fn spell(id: Uuid, s: Spelling) -> Option<String> {
    Some(match s {
        Spelling::Current => return None,
        Spelling::Canonical => id.to_string(),
        Spelling::Upper => id.to_string().to_uppercase(),
        Spelling::Padded => format!(" \t{id}\n"),
        Spelling::Braced => id.braced().to_string(),
        Spelling::Simple => id.simple().to_string(),
        Spelling::Urn => id.urn().to_string(),
    })
}

/// `log` arguments, and how the line is read back.
#[derive(Debug, Clone)]
pub(crate) struct LogIn {
    pub(crate) level: LogLevel,
    pub(crate) message: String,
    pub(crate) metadata: Option<String>,
    pub(crate) read_back: Spelling,
}

pub(crate) async fn check_log(fx: &Fixture, c: &mut Case<'_>, a: &LogIn) -> TestCaseResult {
    let result = check_log_once(fx, c, a).await;
    if result.is_err()
        && let Some(bound) = c.bound
    {
        // Shrinking replays cases: start them from what the stream really holds.
        fx.resync_live(bound).await;
    }
    result
}

pub(crate) async fn check_log_once(fx: &Fixture, c: &mut Case<'_>, a: &LogIn) -> TestCaseResult {
    let got = no_trap(
        "log",
        logging::Host::log(
            &mut c.ctx,
            types::LogLevel::from(a.level),
            a.message.clone(),
            a.metadata.clone(),
        )
        .await,
    )?;
    no_internal("log", &got)?;
    let parsed = a.metadata.as_deref().map(serde_json::from_str::<Value>);
    let object = match &parsed {
        None => true,
        Some(Ok(v)) => v.is_object(),
        Some(Err(_)) => false,
    };
    let limits = limits();
    // The errors that apply; with several, the host may answer any of them.
    let mut applicable = Vec::new();
    if a.metadata
        .as_ref()
        .is_some_and(|m| m.len() > limits.max_log_metadata_bytes)
    {
        applicable.push(Want::TooLarge);
    }
    if !object {
        applicable.push(Want::Invalid("metadata"));
    }
    if let Some(Ok(v)) = &parsed
        && v.is_object()
        && (depth_oracle(v) > limits.max_json_depth || holds_nul(v))
    {
        applicable.push(Want::Invalid("metadata"));
    }
    match &got {
        Ok(()) => prop_assert!(
            applicable.is_empty(),
            "log accepted metadata {:?}, expected {applicable:?}",
            a.metadata
        ),
        Err(e) => {
            prop_assert!(
                applicable.iter().any(|w| is_want(e, w)),
                "log: {e:?} for metadata {:?}, expected {applicable:?}",
                a.metadata
            );
            return Ok(());
        }
    }
    let Some(bound) = c.bound else {
        return Ok(());
    };
    // The message stored with U+0000 replaced (`storable_text`), then capped; the metadata
    // as it was (one holding U+0000 was refused).
    let message = storable_text(a.message.clone());
    let want_meta = match parsed {
        Some(Ok(Value::Object(m))) if !m.is_empty() => Some(Value::Object(m)),
        _ => None,
    };
    // The writer keeps the line unless the execution's log caps are reached; then it only
    // counts it (and says so in a last line after the run).
    let id = bound.execution.execution_id;
    let size =
        (bifrost_core::limits::truncate_with_marker(message.clone(), limits.max_log_message_bytes)
            .len()
            + want_meta.as_ref().map_or(0, |m| m.to_string().len())) as u64;
    let keeps = {
        let mut kept = fx.kept.lock().expect("kept model");
        let (lines, bytes) = kept.entry(id).or_default();
        let keeps = *lines < limits.max_log_lines && *bytes + size <= limits.max_log_bytes;
        if keeps {
            *lines += 1;
            *bytes += size;
        }
        keeps
    };
    // Read the line back: the only entry after the last one the model knows.
    let after = fx
        .live
        .lock()
        .expect("live model")
        .get(&id)
        .and_then(|v| v.last())
        .map(|e| e.id);
    let start = match after {
        None => "0".to_owned(),
        Some(last) => last
            .successor()
            .expect("room after the last id")
            .to_string(),
    };
    let spelled = spell(id, a.read_back);
    let read = no_trap(
        "get_current_logs",
        executions::Host::get_current_logs(
            &mut c.ctx,
            spelled.clone(),
            Some(start.clone()),
            Some(1000),
        )
        .await,
    )?;
    no_internal("get_current_logs", &read)?;
    let entries = read.map_err(|e| {
        TestCaseError::fail(format!("reading back the line with {spelled:?}: {e:?}"))
    })?;
    prop_assert_eq!(
        entries.len(),
        usize::from(keeps),
        "the line just logged, read back from {} with id {:?}",
        start,
        spelled
    );
    let Some(e) = entries.first() else {
        return Ok(());
    };
    let e = view(e)?;
    prop_assert_eq!(&e.execution_id, &id.to_string());
    prop_assert_eq!(e.level, a.level);
    // Kept whole within the limit; beyond it, cut at a character boundary within the
    // limit, with a marker that says how many bytes were cut.
    let ok = if message.len() <= limits.max_log_message_bytes {
        e.message == message
    } else {
        e.message
            .rsplit_once("… [truncated ")
            .is_some_and(|(kept, marker)| {
                kept.len() <= limits.max_log_message_bytes
                    && message.starts_with(kept)
                    && marker == format!("{} bytes]", message.len() - kept.len())
            })
    };
    prop_assert!(
        ok,
        "message of {} bytes read back as {} bytes",
        message.len(),
        e.message.len()
    );
    let same = match (&e.metadata, &want_meta) {
        (None, None) => true,
        (Some(g), Some(w)) => json_close(g, w),
        _ => false,
    };
    prop_assert!(
        same,
        "metadata {:?} read back as {:?}",
        want_meta,
        e.metadata
    );
    fx.live
        .lock()
        .expect("live model")
        .entry(id)
        .or_default()
        .push(e);
    Ok(())
}

pub(crate) async fn check_context(c: &mut Case<'_>) -> TestCaseResult {
    let id = no_trap(
        "execution_id",
        context::Host::execution_id(&mut c.ctx).await,
    )?;
    prop_assert_eq!(id, c.current().map(|u| u.to_string()));
    let name = no_trap(
        "workflow_name",
        context::Host::workflow_name(&mut c.ctx).await,
    )?;
    prop_assert_eq!(name, c.bound.map(|b| b.execution.workflow_name.clone()));
    let caller = no_trap("caller", context::Host::caller(&mut c.ctx).await)?;
    prop_assert_eq!(&caller.user_id, &c.who.user_id.to_string());
    prop_assert_eq!(&caller.user_name, &c.who.user_name);
    prop_assert_eq!(caller.org_id, c.who.organization_id.map(|o| o.to_string()));
    prop_assert_eq!(caller.is_platform_admin, c.who.is_platform_admin);
    Ok(())
}

/// `set-variable` arguments.
#[derive(Debug, Clone)]
pub(crate) struct SetIn {
    pub(crate) name: String,
    pub(crate) value: String,
}

pub(crate) async fn check_set(fx: &Fixture, c: &mut Case<'_>, a: &SetIn) -> TestCaseResult {
    let result = check_set_once(fx, c, a).await;
    if result.is_err() {
        // Shrinking replays cases: start them from variables the model knows (and that a
        // failure may have left unreadable).
        fx.reset_variables().await?;
    }
    result
}

pub(crate) async fn check_set_once(fx: &Fixture, c: &mut Case<'_>, a: &SetIn) -> TestCaseResult {
    let got = no_trap(
        "set_variable",
        context::Host::set_variable(&mut c.ctx, a.name.clone(), a.value.clone()).await,
    )?;
    no_internal("set_variable", &got)?;
    let parsed = serde_json::from_str::<Value>(&a.value);
    // The errors that apply; with several, the host may answer any of them.
    let mut applicable = Vec::new();
    match c.bound {
        None => applicable.push(Want::NoContext),
        Some(b) => {
            let limits = limits();
            if a.name.is_empty()
                || a.name.len() > limits.max_variable_name_bytes
                || a.name.contains('\0')
            {
                applicable.push(Want::Invalid("name"));
            }
            if a.value.len() > limits.max_variable_bytes {
                applicable.push(Want::TooLarge);
            }
            match &parsed {
                Err(_) => applicable.push(Want::Invalid("value")),
                Ok(v) if depth_oracle(v) > limits.max_json_depth || holds_nul(v) => {
                    applicable.push(Want::Invalid("value"))
                }
                Ok(_) => {}
            }
            // Valid, for an execution the store does not have.
            if applicable.is_empty()
                && b.execution.execution_id != fx.running.execution.execution_id
            {
                applicable.push(Want::NotFound(None));
            }
        }
    }
    match &got {
        Ok(()) => prop_assert!(
            applicable.is_empty(),
            "set_variable accepted, expected {applicable:?}"
        ),
        Err(e) => {
            let fits = applicable.iter().any(|w| is_want(e, w));
            prop_assert!(fits, "set_variable: {e:?}, expected {applicable:?}");
            return Ok(());
        }
    }
    // Stored: the model follows, and an admin reads it back.
    let value = parsed.expect("accepted JSON");
    fx.vars
        .lock()
        .expect("vars model")
        .get_or_insert_with(Default::default)
        .insert(a.name.clone(), value);
    let running = fx.running.execution.execution_id;
    let admin = fx.identities[0].clone();
    let mut ctx = ExecutionsCtx::new(admin.clone(), fx.service.clone());
    let row = no_trap(
        "get",
        executions::Host::get(&mut ctx, running.to_string()).await,
    )?;
    no_internal("get after set_variable", &row)?;
    let row = row.map_err(|e| TestCaseError::fail(format!("get after set_variable: {e:?}")))?;
    fx.check_row(&admin, &row, true)?;
    if fx.sets.fetch_add(1, Ordering::Relaxed) + 1 >= VARIABLES_RESET_EVERY {
        fx.reset_variables().await?;
    }
    Ok(())
}

/// One call of the mixed sequences.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    List(FilterIn),
    Page(FilterIn, Option<String>),
    Get(String),
    Logs(LogsIn),
    Log(LogIn),
    Set(SetIn),
    Context,
}

pub(crate) async fn check_op(fx: &Fixture, c: &mut Case<'_>, op: &Op) -> TestCaseResult {
    match op {
        Op::List(f) => check_list(fx, c, f).await,
        Op::Page(f, cursor) => check_page(fx, c, f, cursor).await,
        Op::Get(id) => check_get(fx, c, id).await,
        Op::Logs(a) => check_logs(fx, c, a).await,
        Op::Log(a) => check_log(fx, c, a).await,
        Op::Set(a) => check_set(fx, c, a).await,
        Op::Context => check_context(c).await,
    }
}

/// Whether a JSON value holds U+0000 in a string or a key: what the host refuses in every
/// JSON value a guest hands it (no store keeps it, and it is never changed silently).
pub(crate) fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}
