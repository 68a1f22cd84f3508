//! `executions logs --follow` with real processes: followers started before, during and
//! after a run (by a `serve` process) each print every line once and in order, across the
//! move of the live stream into the store, and exit as `run` does; a follower who may not
//! see the execution is refused. On the embedded default the follower, the worker and the
//! submitter are separate processes on one SQLite file; on a Redis Cluster, the same run. `run --follow` and `submit --wait
//! --follow` print the lines on stderr as they come.

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Server, TempDir, assert_exit_0, json_lines, json_out, runner};
use bifrost_core::model::StreamId;
use bifrost_core::query::LogRange;
use bifrost_tests::protocol::Input;
use bifrost_tests::{Backend, Call, PROBE, TestEnv};
use uuid::Uuid;

const LINES: u32 = 40;

fn slow_probe(lines: u32, pause_ms: u64) -> String {
    Input::new(vec![Call::LogSlowly { n: lines, pause_ms }])
        .to_json()
        .to_string()
}

fn follower(env: &TestEnv, id: Uuid) -> Child {
    runner(env)
        .args(["executions", "logs", &id.to_string(), "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A follower's output: exit 0, `LINES` lines `line 0..` in increasing id order, the final
/// status on stderr.
fn assert_followed_once(out: &Output, when: &str) {
    assert_exit_0(out);
    let lines = json_lines(out);
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..LINES).map(|i| format!("line {i}")).collect();
    assert_eq!(messages, expected, "the follower started {when}");
    let ids: Vec<StreamId> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in order: {ids:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ended Success"), "{when}: {stderr}");
}

async fn live_lines(env: &TestEnv, id: Uuid) -> usize {
    env.logs
        .read(id, LogRange::validate(None, None).unwrap().start, 1000)
        .await
        .unwrap()
        .len()
}

async fn followers_before_during_and_after_a_run_see_every_line_once(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    assert_exit_0(
        &runner(&env)
            .args(["workflows", "deploy", PROBE, "--name", "probe"])
            .output()
            .unwrap(),
    );
    let out = runner(&env)
        .args([
            "executions",
            "submit",
            "probe",
            "--input",
            &slow_probe(LINES, 50),
        ])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let id: Uuid = json_out(&out)["execution_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Before: the execution is still Pending, no worker runs.
    let before = follower(&env, id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = Server::start(&env, &logs, &["--concurrency", "2"]);
    // During: some lines are in the live stream, not all.
    let clock = Instant::now();
    loop {
        let n = live_lines(&env, id).await;
        if n >= 3 {
            assert!(n < LINES as usize, "the run is under way");
            break;
        }
        assert!(
            clock.elapsed() < Duration::from_secs(60),
            "the run did not start: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut during = follower(&env, id);
    // It attached while the stream existed: when it prints its first line, the run is
    // still under way and its lines are still in the live stream.
    let mut stdout = std::io::BufReader::new(during.stdout.take().unwrap());
    let (first, mut stdout) = tokio::task::spawn_blocking(move || {
        let mut first = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
        (first, stdout)
    })
    .await
    .unwrap();
    let live = live_lines(&env, id).await;
    assert!(
        live > 0 && live < LINES as usize,
        "the follower started during the run printed its first line ({first:?}) with {live} lines live"
    );
    let during = {
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut rest).unwrap();
        let mut out = during.wait_with_output().unwrap();
        out.stdout = [first.into_bytes(), rest].concat();
        out
    };
    let before = before.wait_with_output().unwrap();
    // After: the lines are in the store.
    let after = follower(&env, id).wait_with_output().unwrap();
    assert_followed_once(&before, "before the run");
    assert_followed_once(&during, "during the run");
    assert_followed_once(&after, "after the run");
    assert_eq!(live_lines(&env, id).await, 0, "the stream was moved");

    // Someone who may not see it is refused, as by `get`.
    let stranger = runner(&env)
        .args(["executions", "logs", &id.to_string(), "--follow"])
        .args(["--user", &Uuid::new_v4().to_string()])
        .output()
        .unwrap();
    assert_eq!(stranger.status.code(), Some(2));
    assert!(stranger.stdout.is_empty());
    server.stop();
    env.close().await;
}

/// A follow ends with the exit code of `run`: 1 for a final status other than `Success`.
async fn a_follow_of_a_failed_execution_exits_1(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let input = Input::new(vec![
        Call::Log {
            level: "ERROR".into(),
            message: "about to fail".into(),
            metadata: None,
        },
        Call::Fail {
            message: "on purpose".into(),
        },
    ])
    .to_json()
    .to_string();
    let out = runner(&env)
        .args(["run", PROBE, "--input", &input, "--follow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let execution = json_out(&out);
    assert_eq!(execution["status"], "Failed");
    // The line came on stderr as it was written, for a person.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("ERROR") && l.ends_with("about to fail")),
        "{stderr}"
    );
    let id = execution["execution_id"].as_str().unwrap();
    let out = runner(&env)
        .args(["executions", "logs", id, "--follow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ended Failed"));
    assert_eq!(json_lines(&out).len(), 1);
    env.close().await;
}

// The end-to-end run on a Redis Cluster too: `serve`, `submit` and followers whose waits
// poll the cluster.
bifrost_tests::on_all_backends!(followers_before_during_and_after_a_run_see_every_line_once);
bifrost_tests::on_both_backends!(a_follow_of_a_failed_execution_exits_1);

/// Ctrl-C ends a follow quietly, with the exit code shells give SIGINT (130).
#[tokio::test]
async fn ctrl_c_ends_a_follow_quietly() {
    let env = TestEnv::new(Backend::Embedded).await;
    assert_exit_0(
        &runner(&env)
            .args(["workflows", "deploy", PROBE, "--name", "probe"])
            .output()
            .unwrap(),
    );
    // Pending, with no worker: the follow would wait for ever.
    let out = runner(&env)
        .args(["executions", "submit", "probe"])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let id: Uuid = json_out(&out)["execution_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let child = follower(&env, id);
    // Time to start and to be waiting (a signal before then would end it by default).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    env.close().await;
}
