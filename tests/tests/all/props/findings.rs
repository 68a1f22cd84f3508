//! Findings: the smallest inputs of what the properties found, kept as examples.

use super::*;

/// A variable nested 127 levels deep passes `set-variable`'s parse (serde_json's limit is
/// 128 levels), but the variables object that holds it is 128 deep, which no later read of
/// the row can parse: `get` and `list` of the execution, and the next `set-variable`,
/// answer `internal` ("stored JSON: recursion limit exceeded").
pub(crate) fn finding_a_127_deep_variable_breaks_its_execution(backend: Backend) {
    let fx = Fixture::new(backend);
    let running = fx.running.execution.execution_id;
    fx.block_on(async {
        let mut c = fx.case(CtxKind::Running);
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let set = context::Host::set_variable(&mut c.ctx, "deep".into(), deep).await;
        let again = context::Host::set_variable(&mut c.ctx, "x".into(), "1".into()).await;
        let mut admin = fx.case(CtxKind::Outside(0));
        let get = executions::Host::get(&mut admin.ctx, running.to_string()).await;
        let list = executions::Host::list(&mut admin.ctx, FilterIn::default().to_wit()).await;
        let internal = |e: Option<&ApiError>| matches!(e, Some(ApiError::Internal(_)));
        assert!(
            !internal(again.as_ref().err())
                && !internal(get.as_ref().err())
                && !internal(list.as_ref().err()),
            "set-variable of a 127-deep array: {set:?}; then set-variable: {again:?}; \
             get: {:?}; list: {:?}",
            get.as_ref().map(|r| &r.execution_id),
            list.as_ref().map(Vec::len),
        );
    });
}

/// A `start-date` finer than the store's microseconds is truncated to them, so a row that
/// started before the bound is returned: bound `10:00:00.123455999Z`, row started at
/// `10:00:00.123455Z`.
pub(crate) fn finding_a_sub_microsecond_start_date_includes_an_earlier_row(backend: Backend) {
    let fx = Fixture::new(backend);
    let earlier = fx.seeds[14].clone();
    assert_eq!(
        bifrost_core::model::rfc3339(&earlier.started_at),
        "2026-04-25T10:00:00.123455Z"
    );
    let ids = admin_list(
        &fx,
        FilterIn {
            start_date: Some("2026-04-25T10:00:00.123455999Z".into()),
            status: Some(earlier.status),
            ..Default::default()
        },
    );
    assert!(
        !ids.contains(&earlier.id.to_string()),
        "start_date 10:00:00.123455999Z returned the execution started at \
         10:00:00.123455Z: {ids:?}"
    );
}

/// `get-current-logs` flushes the log writer only when the id is absent or spelled as the
/// canonical UUID (any case, padded); the other spellings it accepts for the same
/// execution (braced, simple, URN) skip the flush, and the line just logged is missing.
pub(crate) fn finding_own_log_read_by_another_spelling_misses_the_last_line(backend: Backend) {
    let fx = Fixture::new(backend);
    let id = fx.running.execution.execution_id;
    let mut missing = Vec::new();
    fx.block_on(async {
        for spelling in [
            Spelling::Current,
            Spelling::Canonical,
            Spelling::Upper,
            Spelling::Padded,
            Spelling::Braced,
            Spelling::Simple,
            Spelling::Urn,
        ] {
            let mut c = fx.case(CtxKind::Running);
            let message = format!("logged just before reading with {spelling:?}");
            logging::Host::log(&mut c.ctx, types::LogLevel::Info, message.clone(), None)
                .await
                .expect("logged");
            let entries = executions::Host::get_current_logs(
                &mut c.ctx,
                spell(id, spelling),
                None,
                Some(1000),
            )
            .await
            .expect("own log");
            if entries.last().map(|e| &e.message) != Some(&message) {
                missing.push(spell(id, spelling));
            }
        }
    });
    assert!(
        missing.is_empty(),
        "the line just logged is missing when the own execution is named {missing:?}"
    );
}

/// An `end-date` finer than the store's microseconds and before 2000 reached PostgreSQL
/// rounded up (sqlx counts microseconds from 2000 and drops the rest towards zero), so a
/// row that started after the bound was returned: bound `1969-12-31T23:59:59.999999999Z`,
/// row started at `1970-01-01T00:00:00Z`.
pub(crate) fn finding_a_sub_microsecond_end_date_before_2000_excludes_a_later_row(
    backend: Backend,
) {
    let fx = Fixture::new(backend);
    let later = fx.seeds[8].clone();
    assert_eq!(
        bifrost_core::model::rfc3339(&later.started_at),
        "1970-01-01T00:00:00.000000Z"
    );
    let ids = admin_list(
        &fx,
        FilterIn {
            end_date: Some("1969-12-31T23:59:59.999999999Z".into()),
            status: Some(later.status),
            ..Default::default()
        },
    );
    assert!(
        !ids.contains(&later.id.to_string()),
        "end_date 1969-12-31T23:59:59.999999999Z returned the execution started at \
         1970-01-01T00:00:00Z: {ids:?}"
    );
}

/// The ids the platform admin's `list` returns for a filter of one date bound and a status.
fn admin_list(fx: &Fixture, filter: FilterIn) -> Vec<String> {
    fx.block_on(async {
        let mut admin = fx.case(CtxKind::Outside(0));
        let rows = executions::Host::list(&mut admin.ctx, filter.to_wit())
            .await
            .expect("a valid filter");
        rows.into_iter().map(|r| r.execution_id).collect()
    })
}
