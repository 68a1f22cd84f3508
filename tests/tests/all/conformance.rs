//! Conformance: one guest program (the probe), one dataset, three ways to run it:
//!
//! 1. in the host on PostgreSQL and Redis,
//! 2. in the host on the embedded default (one SQLite file: store and live streams),
//! 3. composed with the virtual provider (`wac-graph`), in plain wasmtime with only WASI,
//!    its fixture made from the rows the store holds (the shape `bifrost-runner get` prints).
//!
//! and the same probe written in Python with the `bifrost` package (`tests/python/workflows/
//! probe.py`) and in JavaScript with the `bifrost` npm package (`tests/js/probe.js`), the
//! same three ways each.
//!
//! Every call answers the same in all nine, or the test fails and shows the first call that
//! differs. The calls cover every filter and its errors, limits, cursor pages, visibility
//! for four kinds of caller, `get` with logs, log reads with start and count, and (in a last
//! run) logging and runtime variables in the current execution.

use bifrost_core::Identity;
use bifrost_core::model::{ExecutionStatus, LogEntry, LogLevel, NewExecution, Outcome, StreamId};
use bifrost_runner::{Ended, RunRequest, Runner};
use bifrost_tests::compose::{plug_provider, run_with_fixture};
use bifrost_tests::protocol::Input;
use bifrost_tests::{
    Answer, Backend, Call, ErrorKind, JS_PROBE, PROBE, PYTHON_PROBE, TestEnv, list, logs,
    test_config,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

const ORG_A: Uuid = Uuid::from_u128(0xa);
const ORG_B: Uuid = Uuid::from_u128(0xb);
/// A regular user of organisation A, who runs the current execution.
const ADA: Uuid = Uuid::from_u128(0x1);
/// Another regular user of organisation A.
const BEA: Uuid = Uuid::from_u128(0x2);
/// A user outside any organisation.
const CY: Uuid = Uuid::from_u128(0x3);
/// The execution every run is bound to.
const CURRENT: Uuid = Uuid::from_u128(0xc0de);

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn identities() -> Vec<(&'static str, Identity)> {
    let who = |user_id, name: &str, org, admin| Identity {
        user_id,
        user_name: name.into(),
        organization_id: org,
        is_platform_admin: admin,
    };
    vec![
        ("regular user", who(ADA, "Ada", Some(ORG_A), false)),
        ("organisation admin", who(BEA, "Bea", Some(ORG_A), true)),
        ("platform admin", Identity::operator()),
        ("user outside any organisation", who(CY, "Cy", None, false)),
    ]
}

/// One seeded execution.
struct Row {
    id: Uuid,
    workflow: &'static str,
    by: Uuid,
    org: Option<Uuid>,
    status: ExecutionStatus,
    started_at: DateTime<Utc>,
    logs: u64,
}

/// The dataset: four workflows, every kind of owner, ties on `started_at`, running and
/// ended executions, some with logs.
fn rows() -> Vec<Row> {
    let base = utc("2026-04-20T08:00:00.250000Z");
    let owners = [
        (ADA, Some(ORG_A)),
        (BEA, Some(ORG_A)),
        (CY, None),
        (ADA, Some(ORG_B)),
        (Uuid::nil(), None),
    ];
    let statuses = [
        ExecutionStatus::Success,
        ExecutionStatus::Failed,
        ExecutionStatus::Running,
        ExecutionStatus::CompletedWithErrors,
        ExecutionStatus::Timeout,
        ExecutionStatus::Pending,
    ];
    let workflows = ["sync", "report", "naïve 'quoted' \"name\"", "cleanup"];
    let mut rows = Vec::new();
    for n in 0..36u64 {
        let (by, org) = owners[(n % 5) as usize];
        rows.push(Row {
            id: Uuid::from_u128(0x1000 + u128::from(n * 7919 % 97)),
            workflow: workflows[(n % 4) as usize],
            by,
            org,
            status: statuses[(n % 6) as usize],
            // Pairs of rows share a start time, so ties are broken by id.
            started_at: base + TimeDelta::hours(((n / 2) * 9) as i64),
            logs: if n % 3 == 0 { 3 + n * 7 } else { 0 },
        });
    }
    // The current execution: running, started by Ada, the newest.
    rows.push(Row {
        id: CURRENT,
        workflow: "probe",
        by: ADA,
        org: Some(ORG_A),
        status: ExecutionStatus::Running,
        started_at: utc("2026-05-30T00:00:00Z"),
        logs: 0,
    });
    rows
}

/// Writes the dataset into a store as runners would have, and returns it as the store holds
/// it (with every log entry), which is the provider's fixture.
async fn seed(env: &TestEnv) -> Vec<Value> {
    for row in rows() {
        env.store
            .create(&NewExecution {
                id: row.id,
                workflow_name: row.workflow.into(),
                parameters: json!({"n": row.id.as_u128() as u64, "tags": ["a", "b"], "nested": {"x": 1.5}}),
                executed_by: row.by,
                executed_by_name: format!("user {}", row.by.as_u128()),
                organization_id: row.org,
                form_id: (row.id.as_u128() % 2 == 0).then_some(Uuid::from_u128(0xf0f0)),
                parent_execution_id: None,
                session_id: (row.id.as_u128() % 3 == 0).then(|| "session-1".to_owned()),
                created_at: row.started_at,
            })
            .await
            .unwrap();
        if row.status != ExecutionStatus::Pending {
            env.store
                .mark_running(
                    row.id,
                    &bifrost_core::store::RunStart {
                        started_at: row.started_at,
                        deadline_at: row.started_at + TimeDelta::hours(1),
                        lease_until: row.started_at + TimeDelta::hours(1),
                    },
                )
                .await
                .unwrap();
        }
        if row.status.is_final() {
            let failed = row.status == ExecutionStatus::Failed;
            env.store
                .finish_with_logs(
                    row.id,
                    &Outcome {
                        status: row.status,
                        result: (!failed).then(|| json!({"count": row.logs, "ok": true})),
                        result_type: (!failed).then(|| "json".to_owned()),
                        error_message: failed.then(|| "upstream timed out".to_owned()),
                        duration_ms: 1500,
                        completed_at: row.started_at + TimeDelta::milliseconds(1500),
                        peak_memory_bytes: 1 << 20,
                        cpu_total_seconds: 0.25,
                        log_lines_dropped: 0,
                    },
                    &[],
                )
                .await
                .unwrap();
            env.store
                .set_variable(row.id, "attempt", &json!(2))
                .await
                .unwrap();
        }
        let entries: Vec<LogEntry> = (0..row.logs)
            .map(|i| {
                let at = row.started_at + TimeDelta::milliseconds((i / 2) as i64);
                LogEntry {
                    id: StreamId {
                        ms: at.timestamp_millis() as u64,
                        seq: i % 2,
                    },
                    execution_id: row.id,
                    level: LogLevel::ALL[(i % 5) as usize],
                    message: format!("line {i}"),
                    metadata: (i % 4 == 0).then(|| (&json!({"i": i})).into()),
                    timestamp: at,
                }
            })
            .collect();
        if !entries.is_empty() {
            env.store.insert_logs(&entries).await.unwrap();
        }
    }
    let mut fixture_rows = Vec::new();
    for row in rows() {
        let mut e = env.store.get(row.id).await.unwrap();
        e.logs = Some(
            env.store
                .read_logs(row.id, StreamId::MIN, u32::MAX)
                .await
                .unwrap(),
        );
        fixture_rows.push(serde_json::to_value(&e).unwrap());
    }
    fixture_rows
}

/// The read-only calls every caller makes.
fn read_calls() -> Input {
    let some_id = |n: u128| Uuid::from_u128(0x1000 + n).to_string();
    let unknown = Uuid::from_u128(0xdead);
    let mut calls = vec![
        Call::Context,
        list().page(),
        list().limit(1000).page(),
        list().limit(5000).page(),
        list().limit(3).page(),
        list().limit(0).page(),
        list().workflow_name("sync").page(),
        list().workflow_name("naïve 'quoted' \"name\"").page(),
        list().workflow_name("").page(),
        list().status("Failed").page(),
        list().status("Completed").page(),
        list().status("running").page(),
        list().start_date("2026-04-25").page(),
        list().end_date("2026-04-25").page(),
        list()
            .start_date("2026-04-22T10:00:00+02:00")
            .end_date("2026-04-27T17:00:00.250000")
            .page(),
        list()
            .start_date("2026-04-26")
            .end_date("2026-04-25")
            .page(),
        list().start_date("yesterday").page(),
        list()
            .workflow_name("report")
            .status("Success")
            .start_date("2026-04-20")
            .end_date("2026-05-31")
            .limit(2)
            .page(),
        list().limit(4).all(),
        list().limit(1).workflow_name("cleanup").all(),
        Call::get(CURRENT),
        Call::get(unknown),
        Call::get("not-a-uuid"),
        logs().page(),
        logs().count(0).page(),
        logs().start("soon").page(),
        logs().of(unknown).page(),
    ];
    for n in 0..97 {
        let id = some_id(n);
        if rows().iter().any(|r| r.id.to_string() == id) {
            calls.push(Call::get(&id));
            calls.push(logs().of(&id).count(5).page());
            calls.push(logs().of(&id).start("1776672000251-1").count(3).page());
            calls.push(logs().of(&id).count(100).all());
        }
    }
    Input::new(calls)
}

/// The calls that change the current execution, made once, last.
fn write_calls() -> Input {
    Input::new(vec![
        Call::log("INFO", "first"),
        Call::log_with("ERROR", "second", json!({"k": [1, 2]})),
        Call::log_with("DEBUG", "bad", json!([1])),
        Call::log_with("INFO", "empty metadata", json!({})),
        logs().page(),
        logs().of(CURRENT).count(2).page(),
        Call::set_variable("answer", json!({"n": 42})),
        Call::set_variable("", json!(1)),
        Call::get(CURRENT),
        list().limit(1).page(),
    ])
}

/// Runs the probe (the component at `probe`) in the host bound to the current execution,
/// for each run's caller.
async fn in_host(backend: Backend, probe: &str, runs: &[(Identity, Input)]) -> Vec<Vec<Answer>> {
    let env = TestEnv::new(backend).await;
    seed(&env).await;
    let runner = Runner::new(env.service.clone(), test_config()).unwrap();
    let probe = runner.load_file(std::path::Path::new(probe)).unwrap();
    let mut answers = Vec::new();
    for (who, input) in runs {
        let request = RunRequest {
            workflow_name: "probe".into(),
            input: input.to_json(),
            identity: who.clone(),
            form_id: None,
            parent_execution_id: None,
            session_id: None,
        };
        match runner.execute(&probe, &request, CURRENT).await.ended {
            Ended::Returned(text) => answers.push(serde_json::from_str(&text).unwrap()),
            other => panic!("{backend:?}: the probe ended {other:?}"),
        }
    }
    drop(runner);
    env.close().await;
    answers
}

/// Runs the probe composed with the provider, each run with a fresh fixture.
async fn composed(
    probe: &str,
    fixture_rows: &[Value],
    runs: &[(Identity, Input)],
) -> Vec<Vec<Answer>> {
    let component = plug_provider(std::path::Path::new(probe)).unwrap();
    let mut answers = Vec::new();
    for (who, input) in runs {
        let fixture = json!({
            "caller": {
                "user_id": who.user_id,
                "user_name": who.user_name,
                "org_id": who.organization_id,
                "is_platform_admin": who.is_platform_admin,
            },
            "current_execution": {"execution_id": CURRENT, "workflow_name": "probe"},
            "executions": fixture_rows,
        });
        let text = run_with_fixture(&component, &fixture, &input.to_json().to_string())
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("composed: the probe failed: {e}"));
        answers.push(serde_json::from_str(&text).unwrap());
    }
    answers
}

/// Replaces what the clock decides (ids and times of lines logged during the run) after
/// checking that the ids increase; the rest must be equal.
fn normalise_own_lines(answers: &mut [Answer]) {
    for answer in answers {
        let Answer::Ok(Value::Array(entries)) = answer else {
            continue;
        };
        let own_line = |e: &Value| {
            e.get("message").is_some()
                && e.get("execution_id").and_then(Value::as_str) == Some(&CURRENT.to_string())
        };
        if entries.is_empty() || !entries.iter().all(own_line) {
            continue;
        }
        let ids: Vec<StreamId> = entries
            .iter()
            .map(|e| e["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
        for e in entries {
            e["id"] = json!("<id>");
            e["timestamp"] = json!("<timestamp>");
        }
    }
}

fn assert_same(name: &str, calls: &Input, expected: &[Answer], actual: &[Answer], how: &str) {
    assert_eq!(
        expected.len(),
        actual.len(),
        "{name}: {how}: number of answers"
    );
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert_eq!(
            e, a,
            "{name}: call {i} {:?} answers differently {how}",
            calls.calls[i]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_probe_answers_alike_on_both_backends_composed_and_in_every_language() {
    let reads = read_calls();
    let writes = write_calls();
    let mut runs: Vec<(Identity, Input)> = identities()
        .into_iter()
        .map(|(_, who)| (who, reads.clone()))
        .collect();
    let org_admin = identities()[1].1.clone();
    runs.push((org_admin, writes.clone()));

    let servers = in_host(Backend::Servers, PROBE, &runs).await;
    let embedded = in_host(Backend::Embedded, PROBE, &runs).await;
    let python_servers = in_host(Backend::Servers, PYTHON_PROBE, &runs).await;
    let python_embedded = in_host(Backend::Embedded, PYTHON_PROBE, &runs).await;
    let js_servers = in_host(Backend::Servers, JS_PROBE, &runs).await;
    let js_embedded = in_host(Backend::Embedded, JS_PROBE, &runs).await;
    let fixture_rows = {
        let env = TestEnv::new(Backend::Embedded).await;
        let rows = seed(&env).await;
        env.close().await;
        rows
    };
    let provider = composed(PROBE, &fixture_rows, &runs).await;
    let python_provider = composed(PYTHON_PROBE, &fixture_rows, &runs).await;
    let js_provider = composed(JS_PROBE, &fixture_rows, &runs).await;

    let mut names: Vec<String> = identities()
        .into_iter()
        .map(|(name, _)| format!("reads as {name}"))
        .collect();
    names.push("writes as organisation admin".into());
    for (i, name) in names.iter().enumerate() {
        let calls = &runs[i].1;
        let (mut s, mut e, mut p) = (servers[i].clone(), embedded[i].clone(), provider[i].clone());
        let (mut ps, mut pe) = (python_servers[i].clone(), python_embedded[i].clone());
        let mut pp = python_provider[i].clone();
        let (mut js, mut je) = (js_servers[i].clone(), js_embedded[i].clone());
        let mut jp = js_provider[i].clone();
        for answers in [
            &mut s, &mut e, &mut p, &mut ps, &mut pe, &mut pp, &mut js, &mut je, &mut jp,
        ] {
            normalise_own_lines(answers);
        }
        assert_same(
            name,
            calls,
            &s,
            &e,
            "on the embedded default than on PostgreSQL and Redis",
        );
        assert_same(
            name,
            calls,
            &s,
            &p,
            "composed with the provider than in the host",
        );
        assert_same(
            name,
            calls,
            &s,
            &ps,
            "from the Python probe on PostgreSQL and Redis than from the Rust one",
        );
        assert_same(
            name,
            calls,
            &s,
            &pe,
            "from the Python probe on the embedded default than from the Rust one",
        );
        assert_same(
            name,
            calls,
            &s,
            &pp,
            "from the Python probe composed with the provider than from the Rust one in the host",
        );
        assert_same(
            name,
            calls,
            &s,
            &js,
            "from the JavaScript probe on PostgreSQL and Redis than from the Rust one",
        );
        assert_same(
            name,
            calls,
            &s,
            &je,
            "from the JavaScript probe on the embedded default than from the Rust one",
        );
        assert_same(
            name,
            calls,
            &s,
            &jp,
            "from the JavaScript probe composed with the provider than from the Rust one in the host",
        );
    }

    // The comparison is not between empty answers: the reads found rows, pages, errors
    // and logs, and the writes were read back.
    let reads_as_admin = &servers[2];
    let listed = reads_as_admin[2].ok().as_array().unwrap().len();
    assert_eq!(listed, rows().len(), "the platform admin sees every row");
    let kinds: Vec<ErrorKind> = reads_as_admin
        .iter()
        .filter(|a| !a.is_ok())
        .map(Answer::kind)
        .collect();
    for kind in [ErrorKind::InvalidArgument, ErrorKind::NotFound] {
        assert!(kinds.contains(&kind), "{kind:?} among {kinds:?}");
    }
    assert!(
        servers[0]
            .iter()
            .any(|a| !a.is_ok() && a.kind() == ErrorKind::PermissionDenied),
        "a regular user is refused others' executions"
    );
    let own = servers[4][4].ok().as_array().unwrap();
    let messages: Vec<&str> = own.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["first", "second", "empty metadata"]);
    assert_eq!(servers[4][8].ok()["variables"]["answer"], json!({"n": 42}));
    let long_read = reads_as_admin
        .iter()
        .filter_map(|a| match a {
            Answer::Ok(v) => v.as_array(),
            Answer::Err(_) => None,
        })
        .map(Vec::len)
        .max()
        .unwrap();
    assert!(
        long_read > 200,
        "the log reader paged through a long log: {long_read}"
    );
}
