//! The embedded default shared by processes that start together: each process that opens
//! the SQLite file migrates it, one at a time, so that N processes on a fresh file, or on a
//! file an older release left, all run and record their executions.

use std::process::Output;

use bifrost_tests::EXAMPLE_HELLO;
use serde_json::json;

use crate::common::{TempDir, embedded_runner, json_lines, json_out};

const PROCESSES: usize = 8;
const ROUNDS: usize = 3;

/// `PROCESSES` runs of `hello` started at once on the data directory `data`; each must
/// exit 0, and the file must then hold every one of them.
fn eight_at_once(data: &std::path::Path, round: usize) {
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            embedded_runner(data)
                .args(["run", EXAMPLE_HELLO, "--input"])
                .arg(json!({"name": format!("p{round}-{i}")}).to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut ids = Vec::new();
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}, process {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = json_out(out);
        assert_eq!(run["status"], "Success");
        ids.push(run["execution_id"].as_str().unwrap().to_owned());
    }
    let listed = json_lines(
        &embedded_runner(data)
            .args(["executions", "list", "--limit", "1000"])
            .output()
            .unwrap(),
    );
    let listed: Vec<&str> = listed
        .iter()
        .map(|e| e["execution_id"].as_str().unwrap())
        .collect();
    for id in &ids {
        assert!(
            listed.contains(&id.as_str()),
            "round {round}: {id} not recorded"
        );
    }
    assert_eq!(listed.len(), PROCESSES, "round {round}: {listed:?}");
}

#[test]
fn processes_starting_together_on_a_fresh_data_directory_all_run() {
    for round in 0..ROUNDS {
        let tmp = TempDir::new();
        eight_at_once(&tmp.0.join("data"), round);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_on_an_older_file_all_run() {
    for round in 0..ROUNDS {
        let tmp = TempDir::new();
        let data = tmp.0.join("data");
        std::fs::create_dir_all(&data).unwrap();
        bifrost_tests::sqlite_at_the_oldest_migration(&data.join("bifrost.db")).await;
        let data2 = data.clone();
        tokio::task::spawn_blocking(move || eight_at_once(&data2, round))
            .await
            .unwrap();
    }
}
