//! The queue with real processes: `serve` workers sharing one store, `executions submit`
//! and `executions cancel`, graceful shutdown, and a worker killed with SIGKILL. What ran
//! is read from the store, not from the workers' word.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Server, TempDir, assert_exit_0, json_out, runner};
use bifrost_core::Identity;
use bifrost_runner::RunRequest;
use bifrost_runner::backends::Backends;
use bifrost_tests::protocol::Input;
use bifrost_tests::{Backend, Call, EXAMPLE_HELLO, PROBE, TestEnv};
use serde_json::{Value, json};
use uuid::Uuid;

/// Most a test waits for the workers to reach a state.
pub(crate) const PATIENCE: Duration = Duration::from_secs(120);

pub(crate) fn deploy(env: &TestEnv, file: &str, name: &str) {
    let out = runner(env)
        .args(["workflows", "deploy", file, "--name", name])
        .output()
        .unwrap();
    assert_exit_0(&out);
}

/// Waits until `done` holds of the store's status counts; panics after [`PATIENCE`].
async fn wait_for(
    env: &TestEnv,
    what: &str,
    servers: &[&Server],
    done: impl Fn(&BTreeMap<String, i64>) -> bool,
) -> BTreeMap<String, i64> {
    let clock = Instant::now();
    loop {
        let counts = env.status_counts().await;
        if done(&counts) {
            return counts;
        }
        if clock.elapsed() > PATIENCE {
            let logs: Vec<String> = servers.iter().map(|s| s.log()).collect();
            panic!("waited {PATIENCE:?} for {what}; statuses {counts:?}; servers: {logs:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops `servers` and returns how many executions each finished, checking that each ran
/// some (took its share of the queue).
fn each_ran_some(servers: Vec<Server>, what: &str) -> Vec<u64> {
    let finished: Vec<u64> = servers
        .into_iter()
        .map(|s| s.stop()["finished"].as_u64().unwrap())
        .collect();
    assert!(finished.iter().all(|&n| n > 0), "{what}: {finished:?}");
    finished
}

/// Submits through the library, as a platform would: the CLI costs a process each.
async fn submit_many(b: &Backends, workflow: &str, input: Value, who: &[Identity], n: usize) {
    for i in 0..n {
        bifrost_runner::worker::submit(
            &*b.queue,
            &*b.workflows,
            RunRequest {
                workflow_name: workflow.into(),
                input: input.clone(),
                identity: who[i % who.len()].clone(),
                form_id: None,
                parent_execution_id: None,
                session_id: None,
            },
            None,
            &Default::default(),
        )
        .await
        .unwrap();
    }
}

pub(crate) fn submit(env: &TestEnv, args: &[&str]) -> Uuid {
    let out = runner(env)
        .args(["executions", "submit"])
        .args(args)
        .output()
        .unwrap();
    assert_exit_0(&out);
    json_out(&out)["execution_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// How many executions have reached a final status.
fn ended(counts: &BTreeMap<String, i64>) -> i64 {
    counts
        .iter()
        .filter(|(status, _)| {
            !["Pending", "Scheduled", "Running", "Cancelling"].contains(&status.as_str())
        })
        .map(|(_, n)| n)
        .sum()
}

/// Every execution (up to 1,000), as the platform admin lists them.
async fn all_executions(b: &Backends) -> Vec<bifrost_core::model::Execution> {
    b.service
        .list(
            &bifrost_tests::admin(None),
            &bifrost_core::query::ListFilter {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

/// The executions that did not end `Success`, with their errors, for a failing test.
async fn not_successful(b: &Backends) -> Vec<(Uuid, String, Option<String>)> {
    all_executions(b)
        .await
        .into_iter()
        .filter(|e| e.status.as_str() != "Success")
        .map(|e| (e.id, e.status.as_str().to_owned(), e.error_message))
        .collect()
}

fn slow_probe(lines: u32, pause_ms: u64) -> String {
    Input::new(vec![Call::LogSlowly { n: lines, pause_ms }])
        .to_json()
        .to_string()
}

/// Two `serve` processes on one store run every submitted execution exactly once: each
/// ends `Success` with the two lines of one run, and each user sees their own.
async fn two_servers_run_every_submitted_execution_once(backend: Backend) {
    const N: usize = 60;
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    let users: Vec<Identity> = (0..3).map(|_| bifrost_tests::user(None)).collect();
    let a = Server::start(&env, &logs, &["--concurrency", "4"]);
    let b = Server::start(&env, &logs, &["--concurrency", "4"]);
    let backends = env.backends().await;
    submit_many(&backends, "hello", json!({"name": "Ada"}), &users, N).await;
    // One through the command line, waiting for its end.
    let out = runner(&env)
        .args([
            "executions",
            "submit",
            "hello",
            "--input",
            r#"{"name": "Bo"}"#,
            "--wait",
        ])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let waited = json_out(&out);
    assert_eq!(waited["status"], "Success");
    assert_eq!(waited["result"], json!({"greeting": "Hello, Bo!"}));
    assert_eq!(
        waited["workflow_version"],
        bifrost_runner::component_hash(&std::fs::read(EXAMPLE_HELLO).unwrap()),
        "the execution records the version it ran"
    );

    let counts = wait_for(&env, "every execution to end", &[&a, &b], |c| {
        ended(c) > N as i64
    })
    .await;
    if counts.len() != 1 {
        panic!(
            "only Success: {counts:?}; the others: {:#?}",
            not_successful(&backends).await
        );
    }
    let lines = env.stored_lines_per_execution().await;
    assert_eq!(lines.len(), N + 1, "every execution stored its lines");
    assert!(
        lines.iter().all(|&n| n == 2),
        "each ran once (two lines a run): {lines:?}"
    );
    for who in &users {
        let out = runner(&env)
            .args(["executions", "list", "--limit", "1000", "--user"])
            .arg(who.user_id.to_string())
            .output()
            .unwrap();
        assert_exit_0(&out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            N / users.len()
        );
    }
    let (ra, rb) = (a.stop(), b.stop());
    let (fa, fb) = (
        ra["finished"].as_u64().unwrap(),
        rb["finished"].as_u64().unwrap(),
    );
    assert_eq!(fa + fb, N as u64 + 1);
    // Both servers took their share of the queue.
    assert!(
        fa > 0 && fb > 0,
        "each server ran executions: {fa} and {fb}"
    );
    env.close().await;
}

/// A scheduled execution is cancelled at once; a running one within its runner's next
/// check, with the lines it logged; an ended one cannot be; another user's is not theirs.
async fn cancel_scheduled_and_running_executions(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, PROBE, "probe");

    let later = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let scheduled = submit(&env, &["probe", "--at", &later]);
    let got = json_out(
        &runner(&env)
            .args(["executions", "get", &scheduled.to_string()])
            .output()
            .unwrap(),
    );
    assert_eq!(got["status"], "Scheduled");
    let stranger = Uuid::new_v4().to_string();
    let out = runner(&env)
        .args([
            "executions",
            "cancel",
            &scheduled.to_string(),
            "--user",
            &stranger,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "not the stranger's to cancel");
    let out = runner(&env)
        .args(["executions", "cancel", &scheduled.to_string()])
        .output()
        .unwrap();
    assert_exit_0(&out);
    assert_eq!(
        json_out(&out),
        json!({"execution_id": scheduled, "status": "Cancelled"})
    );
    let out = runner(&env)
        .args(["executions", "cancel", &scheduled.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already ended (Cancelled)"), "{err}");

    let server = Server::start(&env, &logs, &["--concurrency", "2"]);
    let running = submit(&env, &["probe", "--input", &slow_probe(100_000, 10)]);
    wait_for(&env, "the probe to run", &[&server], |c| {
        c.get("Running").is_some()
    })
    .await;
    // Some lines first, to be kept.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = runner(&env)
        .args(["executions", "cancel", &running.to_string()])
        .output()
        .unwrap();
    assert_exit_0(&out);
    assert_eq!(json_out(&out)["status"], "Cancelling");
    wait_for(&env, "the cancel", &[&server], |c| {
        c.get("Cancelled") == Some(&2)
    })
    .await;
    let got = env
        .service
        .get(&bifrost_tests::admin(None), &running.to_string())
        .await
        .unwrap();
    assert!(
        got.logs.as_ref().is_some_and(|l| !l.is_empty()),
        "the lines logged before the cancel are stored"
    );
    assert!(
        got.error_message
            .as_deref()
            .is_some_and(|m| m.contains("cancelled")),
        "{:?}",
        got.error_message
    );
    server.stop();
    env.close().await;
}

/// SIGTERM: the worker claims nothing more, lets what runs finish within the grace
/// period, cancels what does not, and leaves nothing `Running`.
async fn graceful_shutdown_finishes_or_cancels_what_runs(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, PROBE, "probe");
    let server = Server::start(&env, &logs, &["--concurrency", "4", "--grace-secs", "2"]);
    // One that ends within the grace period, one that would not.
    let short = submit(&env, &["probe", "--input", &slow_probe(10, 100)]);
    let long = submit(&env, &["probe", "--input", &slow_probe(100_000, 10)]);
    wait_for(&env, "both to run", &[&server], |c| {
        c.get("Running") == Some(&2)
    })
    .await;
    let report = server.stop();
    assert_eq!(report["claimed"], 2);
    assert_eq!(report["finished"], 2);
    assert_eq!(report["cancelled_at_shutdown"], 1);
    let admin = bifrost_tests::admin(None);
    let short = env.service.get(&admin, &short.to_string()).await.unwrap();
    let long = env.service.get(&admin, &long.to_string()).await.unwrap();
    assert_eq!(short.status.as_str(), "Success");
    assert_eq!(short.logs.unwrap().len(), 10);
    assert_eq!(long.status.as_str(), "Cancelled");
    assert!(!long.logs.unwrap().is_empty());
    env.close().await;
}

/// When an execution that `serve` ran has ended, the executions it started that have not
/// ended, and theirs, are cancelled: no child outlives its parent. `executions get` shows
/// a child's parent, in JSON and to a person.
async fn a_parent_that_ends_leaves_no_child_unfinished(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    let b = env.backends().await;
    let soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let parent = submit(
        &env,
        &["hello", "--input", r#"{"name": "Ada"}"#, "--at", &soon],
    );
    // Children (and a grandchild) due in an hour, and an execution of no parent.
    let who = Identity::operator();
    let version = all_executions(&b).await[0]
        .workflow_version
        .clone()
        .unwrap();
    let queued = async |parent: Option<Uuid>| {
        let new = bifrost_tests::new_row(&who, "hello", parent);
        b.queue
            .submit(&bifrost_core::queue::Submission {
                due_at: new.created_at + chrono::TimeDelta::hours(1),
                new: new.clone(),
                workflow_version: version.clone(),
                is_platform_admin: true,
            })
            .await
            .unwrap();
        new.id
    };
    let child = queued(Some(parent)).await;
    let grandchild = queued(Some(child)).await;
    let unrelated = queued(None).await;

    let shown = runner(&env)
        .args(["executions", "get", &child.to_string(), "--output", "human"])
        .output()
        .unwrap();
    assert_exit_0(&shown);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("Parent") && l.ends_with(&parent.to_string())),
        "{text}"
    );
    let got = json_out(
        &runner(&env)
            .args(["executions", "get", &grandchild.to_string()])
            .output()
            .unwrap(),
    );
    assert_eq!(got["parent_execution_id"], child.to_string());

    let server = Server::start(&env, &logs, &["--concurrency", "2"]);
    let status = async |id: Uuid| env.status(id).await.as_str().to_owned();
    let clock = Instant::now();
    while status(parent).await != "Success" || status(grandchild).await != "Cancelled" {
        assert!(
            clock.elapsed() < PATIENCE,
            "parent {}, child {}, grandchild {}: {}",
            status(parent).await,
            status(child).await,
            status(grandchild).await,
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status(child).await, "Cancelled");
    assert_eq!(status(unrelated).await, "Scheduled");
    assert!(
        server
            .log()
            .contains("cancelled the children it left unfinished"),
        "{}",
        server.log()
    );
    server.stop();
    env.close().await;
}

/// [`two_servers_run_every_submitted_execution_once`] through PgBouncer in transaction
/// mode.
#[tokio::test]
async fn two_servers_run_every_submitted_execution_once_through_pgbouncer() {
    two_servers_run_every_submitted_execution_once(Backend::Pooler).await
}

bifrost_tests::on_both_backends!(
    two_servers_run_every_submitted_execution_once,
    cancel_scheduled_and_running_executions,
    graceful_shutdown_finishes_or_cancels_what_runs,
    a_parent_that_ends_leaves_no_child_unfinished,
);

/// Three `serve` processes on one PostgreSQL, through PgBouncer in transaction mode, and
/// Redis, 1,000 executions by four users: each runs exactly once, none is lost. Two wait
/// for submissions with `LISTEN` on a direct connection; the third, with no direct URL,
/// polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_share_a_thousand_executions() {
    const N: usize = 1000;
    let env = TestEnv::new(Backend::Pooler).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    let users: Vec<Identity> = (0..4).map(|_| bifrost_tests::user(None)).collect();
    let servers: Vec<Server> = (0..3)
        .map(|i| {
            let mut cmd = runner(&env);
            if i == 2 {
                cmd.env_remove("BIFROST_DB_DIRECT_URL");
            }
            Server::start_with(cmd, &logs, &["--concurrency", "8"])
        })
        .collect();
    let backends = env.backends().await;
    submit_many(&backends, "hello", json!({"name": "Cy"}), &users, N).await;
    let refs: Vec<&Server> = servers.iter().collect();
    let counts = wait_for(&env, "a thousand executions", &refs, |c| {
        c.get("Success").copied().unwrap_or(0) >= N as i64
    })
    .await;
    assert_eq!(counts, BTreeMap::from([("Success".to_owned(), N as i64)]));
    let lines = env.stored_lines_per_execution().await;
    assert_eq!(lines.len(), N);
    assert!(lines.iter().all(|&n| n == 2), "each ran once");
    let finished = each_ran_some(servers, "each server ran executions");
    assert_eq!(finished.iter().sum::<u64>(), N as u64);
    env.close().await;
}

/// `--db-connections 2`: a `serve` process runs a hundred executions, eight at once, on
/// two pooled connections and the one that waits for submissions, never more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_process_keeps_to_its_connection_budget() {
    const N: usize = 100;
    let env = TestEnv::new(Backend::Servers).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    // The process's connections carry a name of their own, to be counted.
    let name = format!("budget-{}", uuid::Uuid::new_v4().simple());
    let separator = if env.database_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let mut cmd = runner(&env);
    cmd.env(
        "DATABASE_URL",
        format!("{}{separator}application_name={name}", env.database_url),
    );
    let server = Server::start_with(cmd, &logs, &["--concurrency", "8", "--db-connections", "2"]);
    let backends = env.backends().await;
    let users = [bifrost_tests::user(None)];
    submit_many(&backends, "hello", json!({"name": "Di"}), &users, N).await;
    let clock = Instant::now();
    let mut most = 0;
    loop {
        most = most.max(env.connections_named(&name).await);
        let counts = env.status_counts().await;
        if counts.get("Success").copied().unwrap_or(0) >= N as i64 {
            break;
        }
        assert!(clock.elapsed() < PATIENCE, "{counts:?}: {}", server.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The worker opens its LISTEN connection the first time it runs out of work, which
    // may be only now (a fast machine claims all hundred without ever waiting): the two
    // connections it holds then show that the count sees this process's connections.
    loop {
        let now = env.connections_named(&name).await;
        most = most.max(now);
        if now >= 2 {
            break;
        }
        assert!(
            clock.elapsed() < PATIENCE,
            "the process's connections are named: {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(most <= 3, "two pooled connections and LISTEN, not {most}");
    assert_eq!(
        env.status_counts().await,
        BTreeMap::from([("Success".to_owned(), N as i64)])
    );
    server.stop();
    env.close().await;
}

/// A worker killed with SIGKILL: its running executions end `Stuck` with their live lines
/// (marked by the other workers' sweeps), its share of the queue is run by the others, and
/// nothing is lost or run twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_stuck_executions_and_the_others_do_the_rest() {
    const N: usize = 80;
    const LINES: u32 = 20;
    // Through PgBouncer: a process killed in the middle of its transactions leaves the
    // pooler's server connections to be rolled back and handed to the others.
    let env = TestEnv::new(Backend::Pooler).await;
    let logs = TempDir::new();
    deploy(&env, PROBE, "probe");
    let backends = env.backends().await;
    let input: Value = serde_json::from_str(&slow_probe(LINES, 25)).unwrap();
    let short_lease = ["--concurrency", "6", "--lease-secs", "2"];
    // The victim alone first, so that what runs when it dies is its own.
    let victim = Server::start(&env, &logs, &short_lease);
    submit_many(&backends, "probe", input, &[bifrost_tests::user(None)], N).await;
    wait_for(&env, "the victim to run some", &[&victim], |c| {
        c.get("Running").copied().unwrap_or(0) >= 3
    })
    .await;
    // ... and to have streamed a line of one of them: an execution is `Running` from its
    // claim, before its instance starts (the component may still be compiling), and a kill
    // before the first line leaves no line to keep.
    let deadline = Instant::now() + Duration::from_secs(60);
    'streamed: loop {
        for e in all_executions(&backends).await {
            let live = backends
                .service
                .log_stream()
                .read(e.id, bifrost_core::model::StreamId::MIN, 1)
                .await
                .unwrap();
            if e.status == bifrost_core::model::ExecutionStatus::Running && !live.is_empty() {
                break 'streamed;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the victim streamed no line in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let others: Vec<Server> = (0..2)
        .map(|_| Server::start(&env, &logs, &short_lease))
        .collect();
    // SIGKILL: no shutdown, no final writes.
    drop(victim);
    let refs: Vec<&Server> = others.iter().collect();
    let counts = wait_for(&env, "every execution to end", &refs, |c| {
        ["Pending", "Running", "Cancelling"]
            .iter()
            .all(|s| !c.contains_key(*s))
    })
    .await;
    let stuck = counts.get("Stuck").copied().unwrap_or(0);
    let success = counts.get("Success").copied().unwrap_or(0);
    assert!(stuck >= 1, "the victim's running executions: {counts:?}");
    if stuck + success != N as i64 {
        panic!(
            "only Stuck and Success: {counts:?}; the others: {:#?}",
            not_successful(&backends).await
        );
    }
    let admin = bifrost_tests::admin(None);
    let all = all_executions(&backends).await;
    let mut stuck_lines = 0;
    for e in all {
        let full = backends
            .service
            .get(&admin, &e.id.to_string())
            .await
            .unwrap();
        let lines = full.logs.unwrap_or_default().len();
        match full.status.as_str() {
            "Success" => assert_eq!(lines, LINES as usize, "run once: {}", e.id),
            "Stuck" => {
                assert!(
                    lines <= LINES as usize,
                    "its live lines were moved once: {} has {lines}",
                    e.id
                );
                stuck_lines += lines;
            }
            other => panic!("{other}"),
        }
    }
    assert!(
        stuck_lines > 0,
        "the stuck executions' live lines were kept"
    );
    // The survivors did the rest between them, each its share.
    each_ran_some(others, "each surviving server ran executions");
    env.close().await;
}

/// `GET path` over plain HTTP/1.0: status line and body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// `serve --listen`: `/healthz` answers, `/metrics` counts what ran.
#[tokio::test]
async fn serve_reports_health_and_metrics() {
    let env = TestEnv::new(Backend::Embedded).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let server = Server::start(&env, &logs, &["--listen", &addr]);
    for _ in 0..3 {
        let out = runner(&env)
            .args(["executions", "submit", "hello", "--wait"])
            .output()
            .unwrap();
        assert_exit_0(&out);
    }
    let (status, body) = http_get(&addr, "/healthz");
    assert!(status.contains("200"), "{status}: {body}");
    let (status, metrics) = http_get(&addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    for line in [
        "bifrost_executions_started_total 3",
        "bifrost_executions_finished_total{status=\"Success\"} 3",
        "bifrost_execution_duration_seconds_count 3",
        "bifrost_queue_depth 0",
        "bifrost_live_instances 0",
        "bifrost_compiled_cache_hits_total",
        "bifrost_compiled_cache_misses_total",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    server.stop();
    env.close().await;
}

/// The embedded default with no server and no `DATABASE_URL`: `serve` in one process,
/// `submit --wait` in another, sharing the default SQLite file of the data directory.
#[test]
fn serve_and_submit_share_the_default_sqlite_file() {
    let data = TempDir::new();
    let out = crate::common::embedded_runner(&data.0)
        .args(["workflows", "deploy", EXAMPLE_HELLO])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let mut serve = crate::common::embedded_runner(&data.0)
        .args(["serve", "--poll-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = crate::common::embedded_runner(&data.0)
        .args([
            "executions",
            "submit",
            "hello",
            "--input",
            r#"{"name": "Di"}"#,
        ])
        .arg("--wait")
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let report = serve.wait().unwrap();
    assert_exit_0(&out);
    assert_eq!(json_out(&out)["result"], json!({"greeting": "Hello, Di!"}));
    assert!(report.success());
    assert!(data.0.join("bifrost.db").exists(), "the default file");
}

/// Through PgBouncer with no direct URL, a runner does not migrate (the migrations need a
/// session): on a new database it exits 3 naming `BIFROST_DB_DIRECT_URL`; once a process
/// with the direct URL has migrated it, the same command works.
#[tokio::test]
async fn through_a_pooler_the_migrations_need_the_direct_url() {
    let (database, direct) = bifrost_tests::empty_postgres_database().await;
    let pooled = format!(
        "{}/{database}",
        bifrost_tests::pooler_url().rsplit_once('/').unwrap().0
    );
    let list = |direct_url: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bifrost-runner"));
        cmd.args(["executions", "list"])
            .env("DATABASE_URL", &pooled)
            .env("BIFROST_DB_POOLER", "transaction")
            .env_remove("REDIS_URL")
            .env_remove("BIFROST_DB_DIRECT_URL");
        if let Some(url) = direct_url {
            cmd.env("BIFROST_DB_DIRECT_URL", url);
        }
        cmd.output().unwrap()
    };
    let refused = list(None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("BIFROST_DB_DIRECT_URL"), "{stderr}");
    assert!(stderr.contains("migrations up to 0"), "{stderr}");
    assert_exit_0(&list(Some(&direct)));
    assert_exit_0(&list(None));
    bifrost_tests::drop_postgres_database(&database).await;
}

/// Past one machine, with faults: four `serve` processes through PgBouncer in transaction
/// mode and a Redis Cluster (three masters with a replica each) run 5,000 executions of
/// four users; in the middle one `serve` is killed with SIGKILL and one Redis master too.
/// Every execution ends, once: `Success` with its whole log stored, each line once (a
/// second run would have added its own), or `Stuck` for those the killed process held;
/// the three others ran the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_servers_through_pgbouncer_and_a_redis_cluster_outlive_a_killed_server_and_master() {
    const N: usize = 5000;
    const LINES: u32 = 4;
    let env = TestEnv::new(Backend::Pooler).await;
    let mut cluster = bifrost_tests::servers::OwnRedisCluster::start(3, 1);
    let logs = TempDir::new();
    deploy(&env, PROBE, "probe");
    let backends = env.backends().await;
    let input: Value = serde_json::from_str(&slow_probe(LINES, 10)).unwrap();
    let users: Vec<Identity> = (0..4).map(|_| bifrost_tests::user(None)).collect();
    let serve = || {
        let mut cmd = runner(&env);
        cmd.env("REDIS_URL", cluster.url());
        Server::start_with(cmd, &logs, &["--concurrency", "8", "--lease-secs", "2"])
    };
    let victim = serve();
    let others: Vec<Server> = (0..3).map(|_| serve()).collect();
    let clock = Instant::now();
    // Eight submitters at once, as a platform's many callers would be; the servers start
    // on the first ones while the rest come in.
    let submitters: Vec<_> = (0..8)
        .map(|_| {
            let (backends, input, users) = (backends.clone(), input.clone(), users.clone());
            tokio::spawn(async move {
                submit_many(&backends, "probe", input, &users, N / 8).await;
            })
        })
        .collect();
    let mut all: Vec<&Server> = others.iter().collect();
    all.push(&victim);
    let before = wait_for(&env, "a fifth of the executions", &all, |c| {
        c.get("Success").copied().unwrap_or(0) >= N as i64 / 5
    })
    .await;
    // SIGKILL: no shutdown, no final writes; then a master of the log streams.
    drop(victim);
    let master = cluster.master_of("bifrost:logs:any");
    cluster.kill(master);
    let killed_at = clock.elapsed();
    for submitter in submitters {
        submitter.await.unwrap();
    }
    let refs: Vec<&Server> = others.iter().collect();
    let counts = wait_for(&env, "every execution to end", &refs, |c| {
        ["Scheduled", "Pending", "Running", "Cancelling"]
            .iter()
            .all(|s| !c.contains_key(*s))
    })
    .await;
    let took = clock.elapsed();
    let stuck = counts.get("Stuck").copied().unwrap_or(0);
    let success = counts.get("Success").copied().unwrap_or(0);
    assert_eq!(
        stuck + success,
        N as i64,
        "only Success and Stuck: {counts:?}"
    );
    assert!(
        (1..=8).contains(&stuck),
        "what the victim ran when it was killed, at most 8 at once: {counts:?}"
    );
    let rows = env.lines_by_execution().await;
    assert_eq!(rows.len(), N);
    for (id, status, lines) in &rows {
        match status.as_str() {
            "Success" => assert_eq!(*lines, LINES as i64, "{id} ran once, its log whole"),
            "Stuck" => assert!(*lines <= LINES as i64, "{id}: {lines} lines"),
            other => panic!("{id}: {other}"),
        }
    }
    let finished = each_ran_some(others, "each surviving server ran executions");
    eprintln!(
        "four servers, faults: {N} executions in {:.1} s; at {:.1} s ({} done) a serve and a \
         Redis master killed; {success} Success, {stuck} Stuck; the survivors finished \
         {finished:?}",
        took.as_secs_f64(),
        killed_at.as_secs_f64(),
        before.get("Success").copied().unwrap_or(0),
    );
    env.close().await;
}
