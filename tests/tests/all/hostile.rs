//! Workflows that misbehave: traps, oversized values, endless logging and querying. Each
//! ends as a recorded execution with a clear message; the host keeps serving the others.

use std::time::Duration;

use bifrost_core::limits::Limits;
use bifrost_core::model::{ExecutionStatus, LogLevel};
use bifrost_runner::{RunError, RunRequest, RunnerConfig};
use bifrost_tests::{Answer, Backend, Call, ErrorKind, Harness, admin, answers, list, user};
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
        (Call::Recurse, "stack"),
        (Call::Abort, "unreachable"),
        (Call::panic("boom"), "unreachable"),
    ] {
        let done = h.run_probe(&user(None), vec![call.clone()]).await;
        assert_eq!(done.status, ExecutionStatus::Failed, "{call:?}");
        let message = done.error_message.unwrap();
        assert!(message.contains("trap"), "{call:?}: {message}");
        assert!(
            message.to_lowercase().contains(expect),
            "{call:?}: {message}"
        );
    }
    // A panic's message, which the guest wrote to stderr before it trapped, leads the
    // error message: it names the cause; the trap and its frames follow.
    let done = h
        .run_probe(
            &user(None),
            vec![Call::eprint("earlier output"), Call::panic("the cause")],
        )
        .await;
    let message = done.error_message.unwrap();
    let cause = message.find("the cause").expect(&message);
    let trap = message.find("workflow trapped").expect(&message);
    assert!(cause < trap, "{message}");
    assert!(message.contains("panicked at"), "{message}");
    assert!(!message.contains("RUST_BACKTRACE"), "{message}");
    // The same runner still runs workflows.
    let (_, a) = h.probe(&user(None), vec![Call::Context]).await;
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
            vec![
                Call::LogHuge { bytes: 5000 },
                Call::log_with("INFO", "m", json!(big_meta)),
                Call::set_variable("big", json!("w".repeat(400))),
                Call::set_variable("n".repeat(300), json!(1)),
                Call::set_variable("fine", json!("w".repeat(100))),
            ],
        )
        .await;
    a[0].ok();
    let logs = done.logs.unwrap();
    let long = &logs[0].message;
    assert!(long.starts_with(&"x".repeat(1000)), "kept up to the cap");
    assert!(
        long.ends_with("… [truncated 4000 bytes]"),
        "{}",
        &long[990..]
    );
    assert_eq!(a[1].kind(), ErrorKind::TooLarge);
    assert_eq!(a[2].kind(), ErrorKind::TooLarge);
    assert_eq!(a[3].kind(), ErrorKind::InvalidArgument);
    a[4].ok();

    let failed = h
        .run_probe(&user(None), vec![Call::FailHuge { bytes: 2000 }])
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
    let done = h.run_probe(&who, vec![Call::Huge { bytes: 20_000 }]).await;
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
                parent_execution_id: None,
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
    let (done, _) = h.probe(&user(None), vec![Call::LogMany { n: 5000 }]).await;
    assert_eq!(done.log_lines_dropped, Some(4000));
    let stored = h
        .env
        .service
        .read_logs(
            done.id,
            done.status,
            bifrost_core::query::LogRange {
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
        notice[0].metadata.as_ref().unwrap().to_value()["dropped_lines"],
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
    let logger = h.run_probe(&who, vec![Call::LogForever]);
    let querier = h.run_probe(
        &who,
        vec![Call::ListLoop {
            n: 1_000_000u64,
            every: 50,
        }],
    );
    let others = async {
        let mut done = Vec::new();
        for i in 0..5 {
            let (e, _) = h
                .probe(
                    &user(None),
                    vec![
                        Call::log("INFO", format!("ordinary {i}")),
                        list().limit(5).page(),
                    ],
                )
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
        .filter_map(|l| l.metadata.as_ref()?.to_value().get("calls")?.as_u64())
        .collect();
    let calls = counts.last().copied().unwrap_or(0);
    eprintln!("endless querier: {calls} list calls within a 3 s deadline at 100 a second");
    assert!(calls > 0, "it did run: {calls}");
    assert!(calls <= 100 * 4 + 100, "rate limited: {calls}");
    h.close().await;
}

/// PostgreSQL stores no U+0000. Plain text that holds one (a log message, a printed line,
/// an error message) is kept with U+FFFD in its place, the same on every backend, and
/// nothing that came with it is lost. A JSON value (the input, log metadata, a variable, a
/// result) is never changed: one holding U+0000 is refused as an invalid argument naming
/// where it is, alike on both backends.
async fn nul_in_text_is_replaced_and_in_json_refused(backend: Backend) {
    const R: &str = "\u{FFFD}";
    let h = Harness::new(backend).await;
    let me = admin(None);
    // The input: refused before anything is recorded.
    let refused = h
        .runner
        .run(
            &h.probe,
            RunRequest {
                workflow_name: "probe".into(),
                input: json!({"note": "input\u{0}text", "calls": []}),
                identity: me.clone(),
                form_id: None,
                parent_execution_id: None,
                session_id: None,
            },
        )
        .await;
    match refused {
        Err(RunError::InvalidArgument { parameter, reason }) => {
            assert_eq!(parameter, "input");
            assert_eq!(reason, "$.note holds U+0000, which no store keeps");
        }
        other => panic!("an input with U+0000 was not refused: {other:?}"),
    }
    assert_eq!(h.env.count_rows("executions").await, 0, "nothing recorded");

    // "@" stands for U+0000 in the calls (the probe swaps it in): its own input could not
    // carry one to the workflow.
    let done = h
        .run_probe_input(
            &me,
            json!({"nul": "@", "calls": [
                Call::log_with("INFO", "a@b", json!({"k": "v"})),
                Call::log_with("INFO", "refused", json!({"k": ["v@"]})),
                Call::print("p@q"),
                Call::set_variable("v", json!({"x": "x@y"})),
                Call::set_variable("v@", json!(1)),
                Call::set_variable("fine", json!("ok")),
                list().workflow_name("probe@").page(),
                Call::get("i@"),
            ]}),
        )
        .await;
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "{:?}",
        done.error_message
    );
    let answers = answers(&done);
    answers[0].ok();
    for (answer, parameter, reason) in [
        (&answers[1], "metadata", "$.k[0] holds U+0000"),
        (&answers[3], "value", "$.x holds U+0000"),
        (&answers[4], "name", "holds U+0000"),
    ] {
        assert_eq!(answer.kind(), ErrorKind::InvalidArgument, "{answer:?}");
        assert_eq!(answer.err().parameter.as_deref(), Some(parameter));
        assert!(answer.err().message.contains(reason), "{answer:?}");
    }
    answers[2].ok();
    answers[5].ok();
    assert_eq!(answers[6].ok(), &json!([]), "no stored name holds U+0000");
    assert_eq!(answers[7].kind(), ErrorKind::InvalidArgument);
    // What the store kept: read back, not the runner's own copy.
    let stored = h.env.service.get(&me, &done.id.to_string()).await.unwrap();
    assert_eq!(stored.variables, Some(json!({"fine": "ok"})));
    let logs = stored.logs.unwrap();
    let lines: Vec<(&str, Option<serde_json::Value>)> = logs
        .iter()
        .map(|l| {
            (
                l.message.as_str(),
                l.metadata.as_ref().map(|m| m.to_value()),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (format!("a{R}b").as_str(), Some(json!({"k": "v"}))),
            (format!("p{R}q").as_str(), None),
        ],
        "the refused line is not logged"
    );
    let text = serde_json::to_string(&answers).unwrap();
    assert!(!text.contains("\\u0000"), "no answer holds U+0000: {text}");

    let failed = h
        .run_probe_input(&me, json!({"nul": "@", "calls": [Call::fail("f@g")]}))
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

/// An uncaught exception of a Python workflow (componentize-py) ends the execution
/// `Failed` with the exception in its error message, ahead of the trap it caused: the
/// runtime's frames alone (`abort`, `unreachable`) do not say what went wrong.
#[tokio::test]
async fn a_python_exception_names_its_cause() {
    let h = Harness::new(Backend::Embedded).await;
    let done = h
        .run_file(
            bifrost_tests::PYTHON_RAISES,
            "raises",
            json!({}),
            &user(None),
        )
        .await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    let message = done.error_message.unwrap();
    let cause = message
        .find("ValueError: the input has no name")
        .expect(&message);
    let trap = message.find("workflow trapped").expect(&message);
    assert!(cause < trap, "{message}");
    let printed = done.logs.unwrap();
    assert_eq!(printed[0].message, "starting");
    h.close().await;
}

/// A log at the cap (100,000 lines kept of 120,000 written) is stored whole, numbered 0 to
/// 100,000 with the limit notice, in one linear pass: storing it used to rescan every line
/// already stored for each line added, which took eight minutes. The deadline below is a
/// bound on that defect coming back, not a measure of speed (`scripts/bench --only
/// log_store` measures it).
async fn a_log_at_the_cap_is_stored_whole_in_one_linear_pass(backend: Backend) {
    let h = Harness::with_config(backend, config(Limits::default())).await;
    let who = user(None);
    let run = h.run_probe(&who, vec![Call::LogMany { n: 120_000 }]);
    let done = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the capped log was stored within three minutes");
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "{:?}",
        done.error_message
    );
    assert_eq!(done.log_lines_dropped, Some(20_000));
    let sequences = h.env.log_sequences(done.id).await;
    assert_eq!(sequences.len(), 100_001, "every kept line and the notice");
    assert!(
        sequences.iter().enumerate().all(|(i, &s)| s == i as i64),
        "numbered 0.. in stream order without a gap"
    );
    let last = h
        .env
        .store
        .read_logs(
            done.id,
            bifrost_core::model::StreamId { ms: 0, seq: 0 },
            1000,
        )
        .await
        .unwrap();
    assert_eq!(last[0].message, "line 0");
    h.close().await;
}

/// An execution's variables are capped in total, not only one by one; replacing a
/// variable counts its new size in place of the old one.
async fn variables_are_capped_in_total(backend: Backend) {
    let h = Harness::with_config(
        backend,
        config(Limits {
            max_variables_bytes: 100_000,
            ..Limits::default()
        }),
    )
    .await;
    let me = admin(None);
    let text = |n: usize| "v".repeat(n);
    let (done, a) = h
        .probe(
            &me,
            vec![
                Call::set_variable("a", json!(text(40_000))),
                Call::set_variable("b", json!(text(40_000))),
                Call::set_variable("c", json!(text(40_000))),
                Call::set_variable("a", json!(text(10_000))),
                Call::set_variable("c", json!(text(40_000))),
                Call::set_variable("d", json!(text(20_000))),
            ],
        )
        .await;
    a[0].ok();
    a[1].ok();
    assert_eq!(a[2].kind(), ErrorKind::TooLarge);
    assert!(a[2].err().message.as_str().contains("100000"), "{:?}", a[2]);
    a[3].ok();
    a[4].ok();
    assert_eq!(a[5].kind(), ErrorKind::TooLarge);
    let stored = h.env.service.get(&me, &done.id.to_string()).await.unwrap();
    let vars = stored.variables.unwrap();
    let sizes: Vec<usize> = ["a", "b", "c"]
        .iter()
        .map(|k| vars[k].as_str().unwrap().len())
        .collect();
    assert_eq!(sizes, [10_000, 40_000, 40_000]);
    assert!(vars.get("d").is_none());
    h.close().await;
}

/// Dates and cursors before year 1 or after 9999 are `invalid-argument` naming the
/// parameter, the same on every backend (PostgreSQL used to answer `internal`, SQLite an
/// empty list).
async fn dates_and_cursors_out_of_range_are_invalid_arguments(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = user(None);
    let (_, a) = h
        .probe(
            &who,
            vec![
                list().start_date("-5000-01-01").page(),
                list().end_date("+10000-01-01").page(),
                list()
                    .start_date("0001-01-01")
                    .end_date("9999-12-31")
                    .page(),
            ],
        )
        .await;
    assert_eq!(a[0].kind(), ErrorKind::InvalidArgument);
    assert_eq!(a[0].err().parameter.as_deref(), Some("start_date"));
    assert_eq!(a[1].kind(), ErrorKind::InvalidArgument);
    assert_eq!(a[1].err().parameter.as_deref(), Some("end_date"));
    a[2].ok();
    let forged = format!("v1.-5000000000000000.{}", uuid::Uuid::nil().simple());
    let page = h
        .env
        .service
        .list_page(&who, &Default::default(), Some(&forged))
        .await;
    assert!(
        matches!(
            &page,
            Err(bifrost_core::ApiError::InvalidArgument {
                parameter: "cursor",
                ..
            })
        ),
        "{page:?}"
    );
    h.close().await;
}

/// JSON numbers keep every digit on the way to the store and back, in the input, the
/// result, a variable and log metadata; a number no store can keep is refused up front.
async fn numbers_keep_every_digit(backend: Backend) {
    let h = Harness::new(backend).await;
    let exact = h
        .runner
        .load_file(std::path::Path::new(bifrost_tests::EXACT))
        .unwrap();
    let me = admin(None);
    // Keys in order, as a JSON object is written back.
    let text = r#"{"big":12345678901234567890123,"neg":-98765432109876543210.5,"scale":1.50,"small":0.1000000000000000055511151231257827}"#;
    let input: serde_json::Value = serde_json::from_str(text).unwrap();
    let run = |input: serde_json::Value| {
        h.runner.run(
            &exact,
            RunRequest {
                workflow_name: "exact".into(),
                input,
                identity: me.clone(),
                form_id: None,
                parent_execution_id: None,
                session_id: None,
            },
        )
    };
    let done = run(input).await.unwrap();
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "{:?}",
        done.error_message
    );
    let stored = h.env.service.get(&me, &done.id.to_string()).await.unwrap();
    assert_eq!(stored.parameters.to_string(), text, "input");
    assert_eq!(stored.result.unwrap().to_string(), text, "result");
    assert_eq!(
        stored.variables.unwrap()["input"].to_string(),
        text,
        "variable"
    );
    let logs = stored.logs.unwrap();
    let line = logs.iter().find(|l| l.message == "input").unwrap();
    assert_eq!(line.metadata.as_ref().unwrap().as_str(), text, "metadata");

    let refused = run(serde_json::from_str(r#"{"huge": 1e200000}"#).unwrap()).await;
    assert!(
        matches!(&refused, Err(RunError::InvalidArgument { parameter: "input", reason }) if reason.contains("out of range")),
        "{refused:?}"
    );
    h.close().await;
}

bifrost_tests::on_both_backends!(
    a_log_at_the_cap_is_stored_whole_in_one_linear_pass,
    variables_are_capped_in_total,
    dates_and_cursors_out_of_range_are_invalid_arguments,
    numbers_keep_every_digit,
);

/// Setting a variable writes that variable alone: with a large variable set, setting a
/// small one over and over leaves the execution's row as it was (each set used to rewrite
/// every variable in the row, and PostgreSQL kept a dead copy of it each time).
#[tokio::test]
async fn setting_a_variable_rewrites_no_other_variable() {
    let h = Harness::new(Backend::Servers).await;
    // 60 KiB of hex, which PostgreSQL's compression does not shrink much.
    let big: String = (0..1900)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    let mut calls = vec![Call::set_variable("big", json!(big))];
    calls.extend((0..300).map(|i| Call::set_variable("small", json!(i))));
    let before = h.env.table_bytes("executions").await;
    let (done, a) = h.probe(&admin(None), calls).await;
    assert!(a.iter().all(Answer::is_ok));
    let grown = h.env.table_bytes("executions").await - before;
    let stored = h.env.store.get(done.id).await.unwrap().variables.unwrap();
    assert_eq!(stored["small"], json!(299));
    assert_eq!(stored["big"].as_str().unwrap().len(), big.len());
    eprintln!("executions grew by {grown} bytes for 301 variable writes");
    // The row, written a few times (created, variables folded in at the end), with the
    // big variable once: 300 rewrites of it would be over 9 MB.
    assert!(grown < 1 << 20, "executions grew by {grown} bytes");
    h.close().await;
}

bifrost_tests::on_both_backends!(
    traps_fail_the_execution_and_the_host_goes_on,
    oversized_values_are_refused_or_marked,
    result_and_input_caps,
    log_cap_keeps_the_first_lines_and_says_how_many_were_not_kept,
    endless_logging_and_querying_cannot_starve_the_others,
    nul_in_text_is_replaced_and_in_json_refused,
);
