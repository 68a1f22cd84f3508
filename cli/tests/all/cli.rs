//! The `bifrost-runner` command line, run as a user would, against real PostgreSQL and
//! Redis (a database and key prefix of each test's own).

use std::process::Command;

use crate::common::{TempDir, assert_exit_0, embedded_runner, json_lines, json_out, runner};
use bifrost_tests::protocol::Input;
use bifrost_tests::{Backend, Call, EXAMPLE_HELLO, PROBE, TestEnv};
use serde_json::json;
use uuid::Uuid;

async fn run_then_list_get_and_logs(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let out = runner(&env)
        .args([
            "run",
            EXAMPLE_HELLO,
            "--input",
            r#"{"name": "Grace"}"#,
            "--session-id",
            "s-1",
        ])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let run = json_out(&out);
    // The reference SDK's field names.
    for field in [
        "execution_id",
        "workflow_name",
        "org_id",
        "form_id",
        "executed_by",
        "executed_by_name",
        "status",
        "input_data",
        "result",
        "result_type",
        "error_message",
        "duration_ms",
        "started_at",
        "completed_at",
        "logs",
        "variables",
        "session_id",
        "peak_memory_bytes",
        "cpu_total_seconds",
    ] {
        assert!(run.get(field).is_some(), "missing {field} in {run}");
    }
    assert_eq!(run["status"], json!("Success"));
    assert_eq!(run["workflow_name"], json!("hello"), "named after the file");
    assert_eq!(run["result"], json!({"greeting": "Hello, Grace!"}));
    assert_eq!(run["executed_by_name"], json!("operator"));
    assert_eq!(run["session_id"], json!("s-1"));
    let id = run["execution_id"].as_str().unwrap().to_owned();
    // The process deleted the moved live stream before it exited.
    let uuid: Uuid = id.parse().unwrap();
    assert!(
        env.logs
            .read(uuid, bifrost_core::model::StreamId::MIN, 1)
            .await
            .unwrap()
            .is_empty(),
        "stream left behind"
    );

    let list = json_lines(
        &runner(&env)
            .args(["executions", "list", "--workflow-name", "hello"])
            .output()
            .unwrap(),
    );
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["execution_id"], json!(id));

    let got = json_out(
        &runner(&env)
            .args(["executions", "get", &id])
            .output()
            .unwrap(),
    );
    assert_eq!(got["status"], json!("Success"));

    let logs = runner(&env)
        .args(["executions", "logs", &id])
        .output()
        .unwrap();
    assert_exit_0(&logs);
    let lines = json_lines(&logs);
    assert!(!lines.is_empty());
    assert_eq!(lines, run["logs"].as_array().unwrap().clone());
    // `logs` is another spelling of `executions logs`.
    let alias = runner(&env).args(["logs", &id]).output().unwrap();
    assert_exit_0(&alias);
    assert_eq!(json_lines(&alias), lines);

    // A regular user sees nothing of the operator's.
    let other = Uuid::new_v4().to_string();
    let hidden = runner(&env)
        .args(["executions", "get", &id, "--user", &other])
        .output()
        .unwrap();
    assert_eq!(hidden.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&hidden.stderr).contains("permission denied"));
    let none = runner(&env)
        .args(["executions", "list", "--user", &other])
        .output()
        .unwrap();
    assert_exit_0(&none);
    assert!(json_lines(&none).is_empty());
    // An execution that does not exist is the caller's mistake too.
    let missing = runner(&env)
        .args(["executions", "get", &Uuid::new_v4().to_string()])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    env.close().await;
}

async fn failed_execution_exits_1_and_identity_flags_bind_the_owner(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let user = Uuid::new_v4().to_string();
    let org = Uuid::new_v4().to_string();
    let input = Input::new(vec![Call::fail("refused")])
        .to_json()
        .to_string();
    let out = runner(&env)
        .args([
            "run",
            PROBE,
            "--input",
            &input,
            "--user",
            &user,
            "--user-name",
            "Ann",
            "--org",
            &org,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let run = json_out(&out);
    assert_eq!(run["status"], json!("Failed"));
    assert_eq!(run["error_message"], json!("refused"));
    assert_eq!(run["executed_by"], json!(user));
    assert_eq!(run["executed_by_name"], json!("Ann"));
    assert_eq!(run["org_id"], json!(org));
    // Not an admin: no resource figures.
    assert_eq!(run["peak_memory_bytes"], json!(null));

    let mine = json_lines(
        &runner(&env)
            .args([
                "executions",
                "list",
                "--status",
                "failed",
                "--user",
                &user,
                "--org",
                &org,
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(mine.len(), 1);
    env.close().await;
}

async fn caller_mistakes_exit_2_and_infrastructure_failures_3_with_one_line(backend: Backend) {
    let env = TestEnv::new(backend).await;
    // Files that are no component.
    let tmp = TempDir::new();
    let file = |name: &str, bytes: &[u8]| {
        let path = tmp.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    };
    let random = file(
        "random.wasm",
        &[0x9f, 0x12, 0xee, 0x00, 0x41, 0x73, 0x6d, 0x77, 0x01],
    );
    let text = file("notes.wasm", b"a text file\nwith two lines\n");
    let wat = file("hello.wat", b"(component\n  (core module)\n)\n");
    let module = file("module.wasm", b"\0asm\x01\0\0\0");
    let long_name = "w".repeat(3000);
    // (arguments, environment, what the one-line error must name)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["executions", "list", "--start-date=-5000-01-01"],
            vec![],
            "invalid argument start_date",
        ),
        (
            vec!["run", PROBE, "--workflow-name", &long_name],
            vec![],
            "invalid argument workflow_name: is 3000 bytes long",
        ),
        (
            vec!["run", PROBE, "--workflow-name", ""],
            vec![],
            "invalid argument workflow_name: must not be empty",
        ),
        (
            vec!["run", PROBE, "--timeout-secs", "18446744073709"],
            vec![],
            "--timeout-secs",
        ),
        (
            vec!["run", PROBE, "--timeout-secs", "0"],
            vec![],
            "--timeout-secs",
        ),
        (
            vec!["run", PROBE, "--store-retry-secs", "18446744073709551615"],
            vec![],
            "--store-retry-secs",
        ),
        (vec!["run"], vec![], "<COMPONENT>"),
        (vec!["run", &random], vec![], "not a WebAssembly component"),
        (vec!["run", &text], vec![], "not a WebAssembly component"),
        (vec!["run", &wat], vec![], "WebAssembly text"),
        (vec!["run", &module], vec![], "core WebAssembly module"),
        (
            vec!["run", PROBE, "--input", "@/nonexistent/input.json"],
            vec![],
            "--input",
        ),
        (
            vec!["executions", "list", "--status", "Exploded"],
            vec![],
            "status",
        ),
        (
            vec!["executions", "list", "--start-date", "soon"],
            vec![],
            "start_date",
        ),
        (vec!["executions", "list", "--limit", "0"], vec![], "limit"),
        (vec!["executions", "get", "nope"], vec![], "execution_id"),
        (
            vec![
                "logs",
                "7d2c7f43-0000-4000-8000-000000000000",
                "--start",
                "x",
            ],
            vec![],
            "start",
        ),
        (
            vec!["executions", "list"],
            vec![("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")],
            "DATABASE_URL",
        ),
        (
            vec!["executions", "list"],
            vec![("DATABASE_URL", "not a url")],
            "DATABASE_URL",
        ),
        (
            vec!["executions", "list"],
            vec![("REDIS_URL", "redis://127.0.0.1:1")],
            "REDIS_URL",
        ),
        (vec!["run", "/nonexistent.wasm"], vec![], "nonexistent"),
        (
            vec!["run", PROBE, "--input", "{not json"],
            vec![],
            "--input",
        ),
        (
            vec![
                "executions",
                "list",
                "--org",
                "7d2c7f43-0000-4000-8000-000000000000",
            ],
            vec![],
            "--org",
        ),
    ];
    for (args, vars, needle) in cases {
        let mut cmd = runner(&env);
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let out = cmd.args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A backend that cannot be reached is the infrastructure's failure; every other
        // case here is the caller's mistake.
        let want = if vars
            .iter()
            .any(|(_, v)| v.contains("127.0.0.1:1/") || v.ends_with("127.0.0.1:1"))
        {
            3
        } else {
            2
        };
        assert_eq!(out.status.code(), Some(want), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line: {stderr}"
        );
        if needle.starts_with("invalid argument") {
            assert_eq!(
                stderr.matches(needle).count(),
                1,
                "{args:?}: said once: {stderr}"
            );
        }
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Nothing was recorded by the refused runs.
    let listed = runner(&env).args(["executions", "list"]).output().unwrap();
    assert_exit_0(&listed);
    assert!(json_lines(&listed).is_empty());
    env.close().await;
}

/// Input past what a command line holds (about 128 KiB per argument) comes from a file
/// (`--input @FILE`) or from standard input (`--input -`), and is stored as given.
async fn large_input_from_a_file_or_standard_input(backend: Backend) {
    use std::io::Write as _;
    let env = TestEnv::new(backend).await;
    let tmp = TempDir::new();
    // 300 KiB, within the 1 MiB input cap.
    let input = json!({"calls": [], "padding": "p".repeat(300 << 10)});
    let path = tmp.0.join("input.json");
    std::fs::write(&path, input.to_string()).unwrap();
    let from_file = runner(&env)
        .args(["run", PROBE, "--input"])
        .arg(format!("@{}", path.display()))
        .output()
        .unwrap();
    assert_exit_0(&from_file);
    assert_eq!(json_out(&from_file)["input_data"], input);

    let mut child = runner(&env)
        .args(["run", PROBE, "--input", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert_exit_0(&from_stdin);
    assert_eq!(json_out(&from_stdin)["input_data"], input);
    env.close().await;
}

/// A reader that closes the output early (`| head -c 1`) ends the command quietly: no
/// panic, no error, the exit code it would have had.
async fn a_closed_stdout_ends_the_output_quietly(backend: Backend) {
    use std::io::Read as _;
    let env = TestEnv::new(backend).await;
    // Far more output than a pipe buffers.
    for _ in 0..300 {
        env.seed(&bifrost_tests::Seed {
            by: Uuid::new_v4(),
            org: None,
            workflow: "seeded".into(),
            status: bifrost_core::model::ExecutionStatus::Success,
            started_at: chrono::Utc::now(),
        })
        .await;
    }
    let mut child = runner(&env)
        .args(["executions", "list", "--limit", "1000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    env.close().await;
}

/// The runner's own log output (`BIFROST_LOG`) is one line per event, without colours,
/// when stderr is not a terminal: the SQL of a statement, which the database layer logs
/// over several lines, included.
async fn log_output_is_plain_one_line_events(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let out = runner(&env)
        .args(["executions", "list"])
        .env("BIFROST_LOG", "debug")
        .output()
        .unwrap();
    assert_exit_0(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SELECT"),
        "statements are logged: {stderr:.2000}"
    );
    assert!(!stderr.contains('\x1b'), "no colour codes: {stderr:.2000}");
    for line in stderr.lines() {
        // Each event starts with its time stamp (`2026-12-03T18:00:00.000000Z  DEBUG ...`).
        assert!(
            line.len() > 20
                && line.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                && line.as_bytes()[10] == b'T',
            "a line that is not an event of its own: {line:?}"
        );
    }
    env.close().await;
}

bifrost_tests::on_both_backends!(
    large_input_from_a_file_or_standard_input,
    a_closed_stdout_ends_the_output_quietly,
    log_output_is_plain_one_line_events,
    run_then_list_get_and_logs,
    failed_execution_exits_1_and_identity_flags_bind_the_owner,
    caller_mistakes_exit_2_and_infrastructure_failures_3_with_one_line,
);

/// A directory of the test's own, removed at the end.
#[test]
fn default_data_file_is_created_on_first_use_and_shared_by_later_commands() {
    let tmp = TempDir::new();
    let data_dir = tmp.0.join("nested").join("data");
    let out = embedded_runner(&data_dir)
        .args(["run", EXAMPLE_HELLO, "--input", r#"{"name": "Lin"}"#])
        .output()
        .unwrap();
    assert_exit_0(&out);
    assert!(data_dir.join("bifrost.db").is_file());
    let run = json_out(&out);
    let id = run["execution_id"].as_str().unwrap().to_owned();

    // Another process sees the execution and, once moved, its logs.
    let list = json_lines(
        &embedded_runner(&data_dir)
            .args(["executions", "list"])
            .output()
            .unwrap(),
    );
    assert_eq!(list[0]["execution_id"], json!(id));
    let got = json_out(
        &embedded_runner(&data_dir)
            .args(["executions", "get", &id])
            .output()
            .unwrap(),
    );
    assert_eq!(got["result"], json!({"greeting": "Hello, Lin!"}));
    let logs = embedded_runner(&data_dir)
        .args(["logs", &id])
        .output()
        .unwrap();
    assert_eq!(json_lines(&logs), run["logs"].as_array().unwrap().clone());
}

#[test]
fn bad_backend_urls_fail_in_one_line_and_write_nothing() {
    let tmp = TempDir::new();
    let cases = [
        (
            Some("sqlite:///nonexistent-dir/deeper/x.db"),
            None,
            "DATABASE_URL",
        ),
        (
            Some("mysql://user:hunter2@localhost/db"),
            None,
            "DATABASE_URL",
        ),
        (
            Some("postgres://postgres@127.0.0.1:1/none"),
            None,
            "DATABASE_URL",
        ),
        (None, Some("redis://127.0.0.1:1"), "REDIS_URL"),
        (None, Some("http://127.0.0.1:6379"), "REDIS_URL"),
        (None, Some("redis://[not-a-host"), "REDIS_URL"),
    ];
    for (db, redis, variable) in cases {
        let mut cmd = embedded_runner(&tmp.0);
        if let Some(db) = db {
            cmd.env("DATABASE_URL", db);
        }
        if let Some(redis) = redis {
            cmd.env("REDIS_URL", redis);
        }
        let out = cmd.args(["run", EXAMPLE_HELLO]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Of the wrong form: the caller's mistake (2); well formed but not reachable or
        // not openable: the infrastructure (3).
        let unreachable = [db, redis]
            .into_iter()
            .flatten()
            .any(|u| u.contains("127.0.0.1:1") || u.contains("nonexistent-dir"));
        let want = if unreachable { 3 } else { 2 };
        assert_eq!(out.status.code(), Some(want), "{db:?} {redis:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("bifrost-runner: {variable}: ")),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("hunter2"), "no secrets echoed: {stderr}");
        assert!(out.stdout.is_empty());
        assert!(
            !tmp.0.join("bifrost.db").exists(),
            "nothing written: {db:?} {redis:?}"
        );
    }
}

/// A runner process killed in the middle of an execution: once its lease has run out, the
/// next sweep marks the execution `Stuck` and moves what its live stream holds into the
/// store; before that, a sweep leaves it alone.
#[tokio::test]
async fn killed_runner_leaves_a_stuck_execution_with_its_logs() {
    use bifrost_core::model::{ExecutionStatus, StreamId};
    use bifrost_core::query::ListFilter;

    let env = TestEnv::new(Backend::Servers).await;
    let input = Input::new(vec![Call::LogSlowly {
        n: 100000,
        pause_ms: 5,
    }])
    .to_json()
    .to_string();
    let mut child = runner(&env)
        .args(["run", PROBE, "--input", &input, "--timeout-secs", "60"])
        .env("BIFROST_LEASE_SECS", "6")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let operator = bifrost_core::Identity::operator();
    let running = ListFilter {
        status: Some(ExecutionStatus::Running),
        ..Default::default()
    };
    // Wait until it runs and has logged, then kill it.
    let mut id = None;
    for _ in 0..100 {
        let rows = env.service.list(&operator, &running).await.unwrap();
        if let Some(row) = rows.first()
            && !env
                .logs
                .read(row.id, StreamId::MIN, 1)
                .await
                .unwrap()
                .is_empty()
        {
            id = Some(row.id);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let id = id.expect("the execution started and logged");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let live = env.logs.read(id, StreamId::MIN, 1000).await.unwrap();
    assert!(!live.is_empty());
    assert_eq!(
        env.store.get(id).await.unwrap().status,
        ExecutionStatus::Running
    );

    // Its lease (6 s, renewed every 2 s) runs out 4 to 6 s after the kill: a sweep now
    // leaves it alone, and one after that marks it.
    let early = json_lines(&runner(&env).arg("sweep").output().unwrap());
    assert!(early.is_empty());
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let swept = json_lines(&runner(&env).arg("sweep").output().unwrap());
    assert_eq!(swept, vec![json!(id.to_string())]);

    let row = env.store.get(id).await.unwrap();
    assert_eq!(row.status, ExecutionStatus::Stuck);
    assert!(row.error_message.unwrap().contains("runner stopped"));
    assert!(row.completed_at.is_some());
    let stored = env.store.read_logs(id, StreamId::MIN, 1000).await.unwrap();
    assert_eq!(stored, live, "what the stream held is in the store");
    assert!(
        env.logs
            .read(id, StreamId::MIN, 1)
            .await
            .unwrap()
            .is_empty(),
        "stream removed"
    );
    eprintln!(
        "killed runner: {} lines moved from the stream to the store by the sweep",
        stored.len()
    );
    env.close().await;
}

/// A run never waits for the clean-up of executions other runners left behind: with an
/// abandoned execution whose live log holds 200,000 lines (a runner killed in the middle
/// of a flood), `run` starts its own execution before that log has been moved, and the
/// sweep it started beside it, cut off when it exits, is taken over by the next sweep once
/// its claim has run out.
#[tokio::test]
async fn run_does_not_wait_for_the_sweep_of_other_executions() {
    use bifrost_core::model::{ExecutionStatus, LogLevel, StreamId};

    let env = TestEnv::new(Backend::Servers).await;
    let started = chrono::Utc::now() - chrono::TimeDelta::minutes(5);
    let abandoned = env
        .seed_running("flood", started, started + chrono::TimeDelta::seconds(30))
        .await;
    for chunk in 0..20 {
        bifrost_tests::append_lines(
            &*env.logs,
            abandoned,
            LogLevel::Info,
            (0..10_000).map(|i| format!("flood {}", chunk * 10_000 + i)),
        )
        .await;
    }

    let out = runner(&env)
        .args(["run", EXAMPLE_HELLO])
        .env("BIFROST_LEASE_SECS", "2")
        .output()
        .unwrap();
    assert_exit_0(&out);
    let hello = json_out(&out);
    let hello_started: chrono::DateTime<chrono::Utc> =
        hello["started_at"].as_str().unwrap().parse().unwrap();
    let row = env.store.get(abandoned).await.unwrap();
    assert!(
        row.status == ExecutionStatus::Running
            || row.completed_at.is_some_and(|done| done > hello_started),
        "the run started at {hello_started} only after the sweep had ended at {:?}",
        row.completed_at
    );

    // Whatever the sweep beside the run did not finish, the next one does, once the
    // claim (2 s) has run out.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let swept = runner(&env).arg("sweep").output().unwrap();
    assert_exit_0(&swept);
    let row = env.store.get(abandoned).await.unwrap();
    assert_eq!(row.status, ExecutionStatus::Stuck);
    let mut stored = 0;
    let mut start = StreamId::MIN;
    loop {
        let page = env.store.read_logs(abandoned, start, 1000).await.unwrap();
        stored += page.len();
        match page.last() {
            Some(last) if page.len() == 1000 => start = last.id.successor().unwrap(),
            _ => break,
        }
    }
    assert_eq!(
        stored, 200_000,
        "every line of the abandoned log is stored once"
    );
    env.close().await;
}

/// `wit-package` writes the binary WIT package without touching any backend: with backend
/// URLs that cannot work, it still succeeds, and the file is the package the library encodes.
#[test]
fn wit_package_writes_the_binary_package_and_needs_no_backend() {
    let tmp = TempDir::new();
    let out_dir = tmp.0.join("wit");
    let out = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"))
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .args(["wit-package", "--out-dir"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_exit_0(&out);
    let path = out_dir.join("bifrost-executions@0.3.0.wasm");
    // The path as a JSON string, like every output.
    assert_eq!(json_out(&out), json!(path.display().to_string()));
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written, bifrost_runner::wit::package().unwrap().bytes);

    // An earlier version this runner still runs, on request; an unknown one is the
    // caller's mistake.
    let out = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"))
        .args(["wit-package", "--version", "0.1.0", "--out-dir"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_exit_0(&out);
    let old = std::fs::read(out_dir.join("bifrost-executions@0.1.0.wasm")).unwrap();
    assert_eq!(
        old,
        bifrost_runner::wit::package_version("0.1.0").unwrap().bytes
    );
    let out = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"))
        .args(["wit-package", "--version", "9", "--out-dir"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0.3.0, 0.2.0 and 0.1.0"),
        "{out:?}"
    );
}

/// `offline` runs a workflow composed with the provider, from a fixture, with no backend.
#[test]
fn offline_runs_a_composed_workflow_from_a_fixture() {
    let tmp = TempDir::new();
    let composed = tmp.0.join("hello.offline.wasm");
    std::fs::write(
        &composed,
        bifrost_tests::compose::plug_provider(std::path::Path::new(EXAMPLE_HELLO)).unwrap(),
    )
    .unwrap();
    let fixture = tmp.0.join("fixture.json");
    let current = Uuid::new_v4();
    std::fs::write(
        &fixture,
        serde_json::json!({
            "caller": {"user_id": Uuid::new_v4(), "user_name": "Ada"},
            "current_execution": {"execution_id": current, "workflow_name": "hello"},
        })
        .to_string(),
    )
    .unwrap();
    let offline = |input: &str| {
        Command::new(env!("CARGO_BIN_EXE_bifrost-runner"))
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("REDIS_URL", "redis://127.0.0.1:1")
            .arg("offline")
            .arg(&composed)
            .arg("--fixture")
            .arg(&fixture)
            .args(["--input", input])
            .output()
            .unwrap()
    };
    let out = offline(r#"{"name": "Lin"}"#);
    assert_exit_0(&out);
    assert_eq!(
        json_out(&out),
        serde_json::json!({"greeting": "Hello, Lin!"})
    );
    // A fixture that is not there is refused before anything runs, naming the path.
    let missing = tmp.0.join("no-such-fixture.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"))
        .arg("offline")
        .arg(&composed)
        .arg("--fixture")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no-such-fixture.json: no such file"),
        "{stderr}"
    );
    // The uncomposed workflow is refused, with what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"))
        .args(["offline", EXAMPLE_HELLO, "--fixture"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wac plug"));
}
