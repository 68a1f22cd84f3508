//! Workflows that misbehave: traps, oversized values, endless logging and querying. Each
//! ends as a recorded execution with a clear message; the host keeps serving the others.

use std::time::Duration;

use bifrost_host::limits::Limits;
use bifrost_host::model::{ExecutionStatus, LogLevel};
use bifrost_host::runner::{RunError, RunRequest, RunnerConfig};
use bifrost_tests::{Backend, Harness, admin, err_kind, ok, user};
use serde_json::json;

fn config(limits: Limits) -> RunnerConfig {
    let base = bifrost_tests::test_config();
    RunnerConfig {
        limits: Limits {
            max_result_bytes: base.limits.max_result_bytes,
            ..limits
        },
        ..base
    }
}

async fn traps_fail_the_execution_and_the_host_goes_on(backend: Backend) {
    let h = Harness::new(backend).await;
    for (call, expect) in [
        (json!({"op": "recurse"}), "stack"),
        (json!({"op": "abort"}), "unreachable"),
        (json!({"op": "panic", "message": "boom"}), "unreachable"),
    ] {
        let done = h.run_probe(&user(None), json!([call])).await;
        assert_eq!(done.status, ExecutionStatus::Failed, "{call}");
        let message = done.error_message.unwrap();
        assert!(message.contains("trap"), "{call}: {message}");
        assert!(message.to_lowercase().contains(expect), "{call}: {message}");
    }
    // The same runner still runs workflows.
    let (_, a) = h.probe(&user(None), json!([{"op": "context"}])).await;
    assert_eq!(a.len(), 1);
    h.close().await;
}

async fn oversized_values_are_refused_or_marked(backend: Backend) {
    let limits = Limits {
        max_log_message_bytes: 1000,
        max_log_metadata_bytes: 200,
        max_variable_bytes: 300,
        max_error_message_bytes: 500,
        ..Limits::default()
    };
    let h = Harness::with_config(backend, config(limits)).await;
    let big_meta = json!({"k": "v".repeat(300)});
    let (done, a) = h
        .probe(
            &user(None),
            json!([
                {"op": "log_huge", "bytes": 5000},
                {"op": "log", "level": "INFO", "message": "m", "metadata": big_meta},
                {"op": "set_variable", "name": "big", "value": "w".repeat(400)},
                {"op": "set_variable", "name": "n".repeat(300), "value": 1},
                {"op": "set_variable", "name": "fine", "value": "w".repeat(100)},
            ]),
        )
        .await;
    ok(&a[0]);
    let logs = done.logs.unwrap();
    let long = &logs[0].message;
    assert!(long.starts_with(&"x".repeat(1000)), "kept up to the cap");
    assert!(
        long.ends_with("… [truncated 4000 bytes]"),
        "{}",
        &long[990..]
    );
    assert_eq!(err_kind(&a[1]), "too-large");
    assert_eq!(err_kind(&a[2]), "too-large");
    assert_eq!(err_kind(&a[3]), "invalid-argument");
    ok(&a[4]);

    let failed = h
        .run_probe(&user(None), json!([{"op": "fail_huge", "bytes": 2000}]))
        .await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let message = failed.error_message.unwrap();
    assert!(
        message.ends_with("… [truncated 1500 bytes]"),
        "{message:.80}"
    );
    h.close().await;
}

async fn result_and_input_caps(backend: Backend) {
    let h = Harness::with_config(
        backend,
        RunnerConfig {
            limits: Limits {
                max_result_bytes: 10_000,
                max_input_bytes: 5_000,
                ..Limits::default()
            },
            ..bifrost_tests::test_config()
        },
    )
    .await;
    let who = user(None);
    let done = h
        .run_probe(&who, json!([{"op": "huge", "bytes": 20_000}]))
        .await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    let message = done.error_message.unwrap();
    assert!(
        message.contains("exceeds the limit of 10000 bytes"),
        "{message}"
    );

    let refused = h
        .runner
        .run(
            &h.probe,
            RunRequest {
                workflow_name: "probe".into(),
                input: json!({"calls": [], "padding": "p".repeat(6000)}),
                identity: who.clone(),
                form_id: None,
                session_id: None,
            },
        )
        .await;
    assert!(
        matches!(refused, Err(RunError::InputTooLarge { max: 5000, .. })),
        "{refused:?}"
    );
    // Nothing was recorded for the refused input.
    let mine = h.env.service.list(&who, &Default::default()).await.unwrap();
    assert!(
        mine.iter().all(|e| e.status != ExecutionStatus::Pending),
        "{mine:?}"
    );
    assert_eq!(mine.len(), 1, "only the oversized-result run");
    h.close().await;
}

async fn log_cap_keeps_the_first_lines_and_says_how_many_were_not_kept(backend: Backend) {
    let h = Harness::with_config(
        backend,
        config(Limits {
            max_log_lines: 1000,
            ..Limits::default()
        }),
    )
    .await;
    let (done, _) = h
        .probe(&user(None), json!([{"op": "log_many", "n": 5000}]))
        .await;
    assert_eq!(done.log_lines_dropped, Some(4000));
    let stored = h
        .env
        .service
        .read_logs(
            done.id,
            bifrost_host::query::LogRange {
                start: Default::default(),
                count: 1000,
            },
        )
        .await
        .unwrap();
    let notice = h
        .env
        .store
        .read_logs(done.id, stored.last().unwrap().id.successor().unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1000);
    assert_eq!(stored[999].message, "line 999");
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].level, LogLevel::Warning);
    assert!(
        notice[0].message.contains("4000 later lines"),
        "{}",
        notice[0].message
    );
    assert_eq!(
        notice[0].metadata.as_ref().unwrap()["dropped_lines"],
        json!(4000)
    );
    h.close().await;
}

async fn endless_logging_and_querying_cannot_starve_the_others(backend: Backend) {
    let h = Harness::with_config(
        backend,
        RunnerConfig {
            deadline: Duration::from_secs(3),
            limits: Limits {
                max_log_lines: 10_000,
                max_queries_per_second: 100,
                max_result_bytes: 64 << 20,
                ..Limits::default()
            },
            ..bifrost_tests::test_config()
        },
    )
    .await;
    let who = user(None);
    let logger = h.run_probe(&who, json!([{"op": "log_forever"}]));
    let querier = h.run_probe(
        &who,
        json!([{"op": "list_loop", "n": 1_000_000u64, "every": 50}]),
    );
    let others = async {
        let mut done = Vec::new();
        for i in 0..5 {
            let (e, _) = h
                .probe(&user(None), json!([{"op": "log", "level": "INFO", "message": format!("ordinary {i}")}, {"op": "list", "limit": 5}]))
                .await;
            done.push(e);
        }
        done
    };
    let (logger, querier, others) = tokio::join!(logger, querier, others);
    for e in &others {
        assert_eq!(e.status, ExecutionStatus::Success);
    }
    assert_eq!(logger.status, ExecutionStatus::Timeout);
    let dropped = logger.log_lines_dropped.expect("the cap was reached");
    assert!(dropped > 0);
    eprintln!("endless logger: 10000 lines kept, {dropped} not kept within a 3 s deadline");
    assert_eq!(querier.status, ExecutionStatus::Timeout);
    // The rate limit held the querier to about 100 calls a second (plus one second's burst).
    let counts: Vec<u64> = querier
        .logs
        .unwrap()
        .iter()
        .filter_map(|l| l.metadata.as_ref()?.get("calls")?.as_u64())
        .collect();
    let calls = counts.last().copied().unwrap_or(0);
    eprintln!("endless querier: {calls} list calls within a 3 s deadline at 100 a second");
    assert!(calls > 0, "it did run: {calls}");
    assert!(calls <= 100 * 4 + 100, "rate limited: {calls}");
    h.close().await;
}

/// PostgreSQL stores no U+0000; text that holds one is kept with U+FFFD in its place, the
/// same on every backend, and nothing that came with it is lost.
async fn text_with_nul_is_kept_with_a_replacement_character(backend: Backend) {
    const R: &str = "\u{FFFD}";
    let h = Harness::new(backend).await;
    let me = admin(None);
    // "@" stands for U+0000 in the calls (the probe swaps it in): its own input could not
    // carry one to the workflow unchanged.
    let done = h
        .run_probe_input(
            &me,
            json!({"nul": "@", "note": "input\u{0}text", "calls": [
                {"op": "log", "level": "INFO", "message": "a@b", "metadata": {"k@": "v@"}},
                {"op": "print", "text": "p@q"},
                {"op": "set_variable", "name": "v@", "value": "x@y"},
                {"op": "list", "workflow_name": "probe@"},
                {"op": "get", "id": "i@"},
            ]}),
        )
        .await;
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "{:?}",
        done.error_message
    );
    let answers = done.result.clone().unwrap();
    for a in &answers.as_array().unwrap()[..3] {
        ok(a);
    }
    assert_eq!(ok(&answers[3]), &json!([]), "no stored name holds U+0000");
    assert_eq!(err_kind(&answers[4]), "invalid-argument");
    // What the store kept: read back, not the runner's own copy.
    let stored = h.env.service.get(&me, &done.id.to_string()).await.unwrap();
    assert_eq!(stored.parameters["note"], format!("input{R}text"));
    assert_eq!(
        stored.variables,
        Some(json!({ format!("v{R}"): format!("x{R}y") }))
    );
    let logs = stored.logs.unwrap();
    assert!(
        logs.iter().any(|l| l.message == format!("a{R}b")
            && l.metadata == Some(json!({ format!("k{R}"): format!("v{R}") }))),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.message == format!("p{R}q")),
        "{logs:?}"
    );
    assert!(!answers.to_string().contains('\0'));

    let failed = h
        .run_probe_input(
            &me,
            json!({"nul": "@", "calls": [{"op": "fail", "message": "f@g"}]}),
        )
        .await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let stored = h
        .env
        .service
        .get(&me, &failed.id.to_string())
        .await
        .unwrap();
    let message = stored.error_message.unwrap();
    assert!(message.contains(&format!("f{R}g")), "{message}");
    h.close().await;
}

bifrost_tests::on_both_backends!(
    traps_fail_the_execution_and_the_host_goes_on,
    oversized_values_are_refused_or_marked,
    result_and_input_caps,
    log_cap_keeps_the_first_lines_and_says_how_many_were_not_kept,
    endless_logging_and_querying_cannot_starve_the_others,
    text_with_nul_is_kept_with_a_replacement_character,
);
