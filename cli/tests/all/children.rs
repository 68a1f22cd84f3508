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

const ORG: &str = "00000000-0000-4000-8000-0000000000aa";
const ADA: &str = "00000000-0000-4000-8000-000000000001";
const BO: &str = "00000000-0000-4000-8000-000000000002";
const ROOT: &str = "00000000-0000-4000-8000-000000000003";

/// Submits `workflow` with `input` as `who` (`--user` and `--org`, `--admin` for an admin);
/// returns its ended record.
async fn submit_as(
    env: &TestEnv,
    server: &Server,
    workflow: &str,
    input: Value,
    who: &[&str],
) -> Execution {
    let mut args = vec![workflow, "--input"];
    let input = input.to_string();
    args.push(&input);
    args.extend_from_slice(who);
    let id = submit(env, &args);
    ended(env, server, id).await
}

/// The ids `who` may list, as the service answers it.
async fn visible_to(env: &TestEnv, who: &Identity) -> Vec<String> {
    let filter = bifrost_core::query::ListFilter {
        limit: Some(1000),
        ..Default::default()
    };
    let mut ids: Vec<String> = env
        .service
        .list(who, &filter)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &Value) -> Vec<String> {
    let mut ids: Vec<String> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The reference's sub-workflow context passing, in Rust, Python and JavaScript (the twin
/// programs `family`): a child reads its parent's live log and gets exactly the lines the
/// parent had logged before the call; it runs as the parent's caller, so it lists exactly
/// what that caller may list, cannot read another user's execution, and an org admin's
/// child keeps the admin's scope; a child that fails reaches its parent as an error naming its id.
async fn a_child_reads_its_parents_log_as_its_parents_caller(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    deploy(&env, bifrost_tests::FAMILY, "family-rs");
    deploy(&env, bifrost_tests::PYTHON_FAMILY, "family-py");
    deploy(&env, bifrost_tests::JS_FAMILY, "family-js");
    let server = Server::start(&env, &logs, &["--concurrency", "4"]);
    let ada_flags = ["--user", ADA, "--user-name", "Ada", "--org", ORG];
    let bo_flags = ["--user", BO, "--user-name", "Bo", "--org", ORG];
    let root_flags = [
        "--user",
        ROOT,
        "--user-name",
        "Root",
        "--org",
        ORG,
        "--admin",
    ];
    let ada = Identity {
        user_id: ADA.parse().unwrap(),
        user_name: "Ada".into(),
        organization_id: Some(ORG.parse().unwrap()),
        is_platform_admin: false,
    };
    let root = Identity {
        user_id: ROOT.parse().unwrap(),
        user_name: "Root".into(),
        organization_id: Some(ORG.parse().unwrap()),
        is_platform_admin: true,
    };
    let hello = json!({"name": "x"});
    submit_as(&env, &server, "hello", hello.clone(), &ada_flags).await;
    let bos = submit_as(&env, &server, "hello", hello, &bo_flags).await;

    for lang in ["rs", "py", "js"] {
        let workflow = format!("family-{lang}");
        let parent_input = |lines: u32, child_role: &str| {
            json!({"role": "parent", "child": workflow, "lines": lines,
                   "child_role": child_role, "peek": bos.id.to_string()})
        };

        // Ada's parent: the child reads the three lines logged before the call, lists what
        // Ada lists, and is refused Bo's execution.
        let parent = submit_as(
            &env,
            &server,
            &workflow,
            parent_input(3, "child"),
            &ada_flags,
        )
        .await;
        assert_eq!(
            parent.status.as_str(),
            "Success",
            "{lang}: {:?}: {}",
            parent.error_message,
            server.log()
        );
        let r = parent.result.clone().unwrap();
        let child = &r["child"];
        assert_eq!(child["parent"], json!(parent.id.to_string()), "{lang}: {r}");
        assert_eq!(
            child["parent_lines"],
            json!(["before 1", "before 2", "before 3"]),
            "{lang}: {r}"
        );
        assert_eq!(r["child_parent"], json!(parent.id.to_string()), "{lang}");
        assert_eq!(child["caller"], json!(ADA), "{lang}");
        assert_eq!(child["peek"], json!("permission-denied"), "{lang}: {r}");
        assert_eq!(
            sorted(&child["visible"]),
            visible_to(&env, &ada).await,
            "{lang}"
        );
        assert!(!sorted(&child["visible"]).contains(&bos.id.to_string()));
        // The parent's whole log: the lines before, then the one after.
        let stored: Vec<String> = env
            .store
            .read_logs(parent.id, bifrost_core::model::StreamId::MIN, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.message)
            .collect();
        assert_eq!(
            stored,
            ["before 1", "before 2", "before 3", "after"],
            "{lang}"
        );
        let child_record = env
            .service
            .get(&Identity::operator(), r["child_id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(child_record.executed_by, ada.user_id);
        assert_eq!(child_record.organization_id, ada.organization_id);

        // An org admin's child keeps the admin's scope: it lists what the admin lists (Bo's
        // execution among them) and reads Bo's execution.
        let parent = submit_as(
            &env,
            &server,
            &workflow,
            parent_input(0, "child"),
            &root_flags,
        )
        .await;
        let r = parent.result.clone().unwrap();
        let child = &r["child"];
        assert_eq!(child["parent_lines"], json!([]), "{lang}: {r}");
        assert_eq!(child["caller"], json!(ROOT), "{lang}");
        assert_eq!(child["peek"], json!("Success"), "{lang}: {r}");
        let listed = sorted(&child["visible"]);
        assert_eq!(listed, visible_to(&env, &root).await, "{lang}");
        assert!(listed.contains(&bos.id.to_string()));

        // A failing child: the parent gets an error naming the child's id and its error.
        let parent = submit_as(
            &env,
            &server,
            &workflow,
            parent_input(1, "fail"),
            &ada_flags,
        )
        .await;
        let r = parent.result.clone().unwrap();
        let failed = &r["failed"];
        let id = failed["execution_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{lang}: {r}"));
        assert_eq!(failed["status"], json!("Failed"), "{lang}");
        let message = failed["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("child execution {id} ({workflow}) ended Failed: ")),
            "{message}"
        );
        assert!(message.ends_with("the child gave up"), "{message}");
        let stored = env.service.get(&Identity::operator(), id).await.unwrap();
        assert_eq!(stored.parent_execution_id, Some(parent.id));
        assert_eq!(stored.status.as_str(), "Failed");

        // A workflow that is not deployed: the SDK's error names it.
        let parent = submit_as(
            &env,
            &server,
            &workflow,
            json!({"role": "parent", "child": "nope"}),
            &ada_flags,
        )
        .await;
        assert_eq!(
            parent.result.unwrap()["error"],
            json!(r#"workflow "nope" is not deployed"#),
            "{lang}"
        );
    }
    server.stop();
    env.close().await;
}

bifrost_tests::on_both_backends!(
    a_child_reads_its_parents_log_as_its_parents_caller,
    run_starts_workflows_in_its_own_process,
    a_childs_deadline_is_its_parents,
    a_workflow_executes_and_starts_workflows_under_serve,
    a_fan_out_completes_with_two_running_slots,
);

/// Two `serve` processes: the parent runs on the first, whose only instance it holds while
/// it waits (`--concurrency 1 --max-waiting 0`), so its three children run on the second,
/// started once the parent runs; the parent gets each child's record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parents_children_run_on_another_serve_process() {
    let env = TestEnv::new(Backend::Servers).await;
    let logs = TempDir::new();
    deploy(&env, EXAMPLE_HELLO, "hello");
    deploy(&env, V0_3, "parent");
    let first = Server::start(&env, &logs, &["--concurrency", "1", "--max-waiting", "0"]);
    let input = json!({"start": "hello", "input": r#"{"name": "Ada"}"#, "fan": 3, "do": []});
    let id = submit(&env, &["parent", "--input", &input.to_string()]);
    let clock = Instant::now();
    while env.status(id).await.as_str() != "Running" {
        assert!(clock.elapsed() < PATIENCE, "{}", first.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = Server::start(&env, &logs, &["--concurrency", "2"]);
    let parent = ended(&env, &second, id).await;
    assert_eq!(
        parent.status.as_str(),
        "Success",
        "{:?}: {}",
        parent.error_message,
        first.log()
    );
    let r = parent.result.clone().unwrap();
    let children = r["fan"].as_array().unwrap();
    assert_eq!(children.len(), 3, "{r}");
    for child in children {
        assert_eq!(child["status"], json!("Success"), "{r}");
        assert_eq!(child["parent_execution_id"], json!(id.to_string()));
        assert!(child["result"].as_str().unwrap().contains("Ada"), "{r}");
    }
    // Where each ran: the parent on the first process, the children on the second.
    assert_eq!(first.stop()["finished"], json!(1));
    assert_eq!(second.stop()["finished"], json!(3));
    env.close().await;
}
