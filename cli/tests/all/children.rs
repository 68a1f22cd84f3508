//! Workflows that start workflows under `serve` and `run` (`workflows` of `bifrost:executions@0.3.0`,
//! the test program `tests/programs/src/v0_3.rs`): each child an execution of its own,
//! recorded with its parent, run as its parent's caller; the depth limit ends a cycle.

use std::time::{Duration, Instant};

use bifrost_core::Identity;
use bifrost_core::model::Execution;
use bifrost_tests::{Backend, EXAMPLE_HELLO, TestEnv, V0_3};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Server, TempDir, assert_exit_0, json_out, runner};
use crate::queue::{PATIENCE, deploy, submit};

/// Waits for `id` to end; returns its record.
async fn ended(env: &TestEnv, server: &Server, id: Uuid) -> Execution {
    let clock = Instant::now();
    loop {
        let e = env
            .service
            .get(&Identity::operator(), &id.to_string())
            .await
            .unwrap();
        if e.status.is_final() {
            return e;
        }
        assert!(
            clock.elapsed() < PATIENCE,
            "{id} did not end: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Submits the parent program with `input`; returns its ended record and its result.
async fn parent_run(env: &TestEnv, server: &Server, input: Value) -> (Execution, Value) {
    let id = submit(env, &["parent", "--input", &input.to_string()]);
    let e = ended(env, server, id).await;
    assert_eq!(
        e.status.as_str(),
        "Success",
        "{:?}: {}",
        e.error_message,
        server.log()
    );
    let result = e.result.clone().unwrap();
    (e, result)
}

async fn a_workflow_executes_and_starts_workflows_under_serve(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    deploy(&env, V0_3, "parent");
    deploy(&env, V0_3, "loop");
    let server = Server::start(
        &env,
        &logs,
        &["--concurrency", "8", "--max-child-depth", "3"],
    );

    // execute: the child's record, its result included; list: the deployed workflows.
    let (parent, r) = parent_run(
        &env,
        &server,
        json!({"start": "hello", "input": r#"{"name": "Ada"}"#, "do": ["list", "execute"]}),
    )
    .await;
    let child = &r["execute"];
    assert_eq!(child["status"], json!("Success"), "{r}");
    assert_eq!(child["workflow_name"], json!("hello"));
    assert_eq!(child["parent_execution_id"], json!(parent.id.to_string()));
    assert!(child["result"].as_str().unwrap().contains("Ada"), "{r}");
    let mut names: Vec<&str> = r["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["hello", "loop", "parent"]);
    // The child is an execution of its own, of the parent's caller.
    let child_id = child["execution_id"].as_str().unwrap();
    let stored = env
        .service
        .get(&Identity::operator(), child_id)
        .await
        .unwrap();
    assert_eq!(stored.parent_execution_id, Some(parent.id));
    assert_eq!(stored.executed_by, parent.executed_by);
    assert_eq!(stored.executed_by_name, parent.executed_by_name);

    // start, then wait for the child just started.
    let (parent, r) = parent_run(
        &env,
        &server,
        json!({"start": "hello", "input": r#"{"name": "Bo"}"#, "do": ["start", "wait"]}),
    )
    .await;
    assert_eq!(r["wait"]["execution_id"], r["start"], "{r}");
    assert_eq!(r["wait"]["status"], json!("Success"), "{r}");
    assert_eq!(
        r["wait"]["parent_execution_id"],
        json!(parent.id.to_string())
    );

    // Not a child of this execution, an id that is none, a workflow not deployed.
    let (_, r) = parent_run(
        &env,
        &server,
        json!({"wait": parent.id.to_string(), "do": ["wait"]}),
    )
    .await;
    assert_eq!(r["wait"]["error"], json!("not-found"), "{r}");
    let (_, r) = parent_run(&env, &server, json!({"wait": "soon", "do": ["wait"]})).await;
    assert_eq!(r["wait"]["error"], json!("invalid-argument"), "{r}");
    assert_eq!(r["wait"]["parameter"], json!("execution_id"), "{r}");
    let (_, r) = parent_run(
        &env,
        &server,
        json!({"start": "hello", "input": "{not json", "do": ["start"]}),
    )
    .await;
    assert_eq!(r["start"]["error"], json!("invalid-argument"), "{r}");
    assert_eq!(r["start"]["parameter"], json!("input"), "{r}");
    let (_, r) = parent_run(&env, &server, json!({"start": "nope", "do": ["start"]})).await;
    assert_eq!(r["start"]["error"], json!("not-found"), "{r}");
    assert_eq!(r["start"]["message"], json!("nope"), "{r}");

    // A cycle, loop -> loop -> ...: the start at depth 3 is refused with limit-reached, and
    // every level ends.
    let top = submit(
        &env,
        &[
            "loop",
            "--input",
            r#"{"start": "loop", "recurse": true, "do": ["execute"]}"#,
        ],
    );
    let mut level = ended(&env, &server, top).await;
    let mut depth = 0;
    loop {
        assert_eq!(
            level.status.as_str(),
            "Success",
            "{:?}",
            level.error_message
        );
        let r = level.result.clone().unwrap();
        let execute = &r["execute"];
        if execute["error"].is_string() {
            assert_eq!(execute["error"], json!("limit-reached"), "{r}");
            break;
        }
        assert_eq!(execute["parent_execution_id"], json!(level.id.to_string()));
        let id: Uuid = execute["execution_id"].as_str().unwrap().parse().unwrap();
        let above = level.id.to_string();
        level = ended(&env, &server, id).await;
        depth += 1;
        // The child reads its parent from `context` and from its own record.
        let r = level.result.clone().unwrap();
        assert_eq!(r["parent"], json!(above), "{r}");
        assert_eq!(r["own_parent"], json!(above), "{r}");
    }
    assert_eq!(depth, 3);
    server.stop();
    env.close().await;
}

/// A parent that waits gives its running slot back: under `--concurrency 2`, a parent that
/// starts ten children, each of which starts two of its own and waits for them, completes
/// (with the slots held while waiting, the parent and one child would hold both and the
/// grandchildren never run).
async fn a_fan_out_completes_with_two_running_slots(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    deploy(&env, V0_3, "parent");
    deploy(&env, V0_3, "mid");
    let server = Server::start(&env, &logs, &["--concurrency", "2"]);
    let grandchildren = json!({"start": "hello", "input": r#"{"name": "g"}"#, "fan": 2, "do": []});
    let (parent, r) = parent_run(
        &env,
        &server,
        json!({"start": "mid", "input": grandchildren.to_string(), "fan": 10, "do": []}),
    )
    .await;
    let children = r["fan"].as_array().unwrap();
    assert_eq!(children.len(), 10, "{r}");
    for child in children {
        assert_eq!(child["status"], json!("Success"), "{r}");
        assert_eq!(child["parent_execution_id"], json!(parent.id.to_string()));
        let theirs: Value = serde_json::from_str(child["result"].as_str().unwrap()).unwrap();
        let theirs = theirs["fan"].as_array().unwrap();
        assert_eq!(theirs.len(), 2, "{child}");
        for grandchild in theirs {
            assert_eq!(grandchild["status"], json!("Success"), "{grandchild}");
            assert_eq!(grandchild["parent_execution_id"], child["execution_id"]);
        }
    }
    let counts = env.status_counts().await;
    assert_eq!(counts.get("Success"), Some(&31), "{counts:?}");
    assert_eq!(counts.len(), 1, "{counts:?}");
    server.stop();
    env.close().await;
}

/// A child's deadline is never later than its parent's: claimed after its parent, it gets
/// its parent's deadline, not one a whole timeout after its own start.
async fn a_childs_deadline_is_its_parents(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    deploy(&env, V0_3, "parent");
    let server = Server::start(&env, &logs, &["--concurrency", "2"]);
    let (parent, r) = parent_run(
        &env,
        &server,
        json!({"start": "hello", "input": r#"{"name": "Ada"}"#, "do": ["execute"]}),
    )
    .await;
    let child: Uuid = r["execute"]["execution_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (of_parent, of_child) = (
        env.deadline_at(parent.id).await,
        env.deadline_at(child).await,
    );
    assert!(of_parent.is_some(), "{r}");
    assert_eq!(of_child, of_parent, "{r}");
    // Outside the tree: a deadline of its own, a whole timeout after its own claim.
    let (other, _) = parent_run(&env, &server, json!({"do": []})).await;
    assert!(env.deadline_at(other.id).await > of_parent);
    server.stop();
    env.close().await;
}

/// `bifrost-runner run` starts workflows in its own process: the child an execution of its
/// own with its parent; one started and not waited for is recorded before the process
/// exits, ended (run or cancelled), never left running.
async fn run_starts_workflows_in_its_own_process(backend: Backend) {
    let env = TestEnv::new(backend).await;
    deploy(&env, EXAMPLE_HELLO, "hello");
    let input = json!({
        "start": "hello",
        "input": r#"{"name": "Ada"}"#,
        "do": ["list", "execute", "start"],
    });
    let out = runner(&env)
        .args(["run", V0_3, "--input", &input.to_string()])
        .output()
        .unwrap();
    assert_exit_0(&out);
    let parent = json_out(&out);
    let r: Value = parent["result"].clone();
    assert_eq!(r["execute"]["status"], json!("Success"), "{r}");
    assert_eq!(r["execute"]["parent_execution_id"], parent["execution_id"]);
    assert!(
        r["execute"]["result"].as_str().unwrap().contains("Ada"),
        "{r}"
    );
    assert_eq!(r["list"][0]["name"], json!("hello"), "{r}");
    let started = r["start"].as_str().unwrap();
    let child = env
        .service
        .get(&Identity::operator(), started)
        .await
        .unwrap();
    assert!(child.status.is_final(), "{:?}", child.status);
    assert_eq!(
        child.parent_execution_id.map(|p| p.to_string()),
        parent["execution_id"].as_str().map(str::to_owned)
    );
    env.close().await;
}

bifrost_tests::on_both_backends!(
    run_starts_workflows_in_its_own_process,
    a_childs_deadline_is_its_parents,
    a_workflow_executes_and_starts_workflows_under_serve,
    a_fan_out_completes_with_two_running_slots,
);
