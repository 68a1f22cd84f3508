//! A workflow composed with the virtual provider (the `wac-graph` crate, as `wac plug`)
//! becomes one component that imports nothing of `bifrost:executions`, validates, and runs in
//! plain wasmtime with only WASI, answering from its fixture.

use bifrost_tests::compose::{checked_shape, plug_provider, run_with_fixture};
use bifrost_tests::protocol::Input;
use bifrost_tests::{Answer, COMPONENTS, Call, ErrorKind, PROBE, V0_3, list, logs};
use serde_json::{Value, json};

const ME: &str = "00000000-0000-4000-8000-000000000001";
const OTHER: &str = "00000000-0000-4000-8000-000000000002";
const ORG: &str = "00000000-0000-4000-8000-0000000000aa";
const CURRENT: &str = "00000000-0000-4000-8000-00000000c0de";
const FAILED: &str = "00000000-0000-4000-8000-000000000101";
const THEIRS: &str = "00000000-0000-4000-8000-000000000102";

fn fixture() -> Value {
    json!({
        "caller": {"user_id": ME, "user_name": "Ada", "org_id": ORG, "is_platform_admin": false},
        "current_execution": {"execution_id": CURRENT, "workflow_name": "probe"},
        "executions": [
            {"execution_id": FAILED, "workflow_name": "sync", "executed_by": ME,
             "executed_by_name": "Ada", "org_id": ORG, "status": "Failed",
             "started_at": "2026-04-25T10:00:00Z", "completed_at": "2026-04-25T10:00:02Z",
             "duration_ms": 2000, "error_message": "upstream timed out",
             "input_data": {"batch": 7}, "variables": {"secret": 1},
             "logs": [
                {"id": "1777111200000-0", "level": "INFO", "message": "starting",
                 "timestamp": "2026-04-25T10:00:00Z"},
                {"id": "1777111201000-0", "level": "ERROR", "message": "gave up",
                 "metadata": {"attempts": 3}, "timestamp": "2026-04-25T10:00:01Z"}
             ]},
            {"execution_id": THEIRS, "workflow_name": "sync", "executed_by": OTHER,
             "org_id": ORG, "status": "Success", "started_at": "2026-04-26T10:00:00Z"}
        ]
    })
}

#[test]
fn every_workflow_plugged_with_the_provider_validates_and_imports_only_wasi() {
    for (name, path) in COMPONENTS {
        // The provider exports 0.3.0; a 0.1.0 or 0.2.0 component runs in the host only
        // (versions.rs).
        if *name == "v0_1" || *name == "v0_2" {
            let e = plug_provider(std::path::Path::new(path)).unwrap_err();
            assert!(format!("{e:#}").contains("no matching imports"), "{e:#}");
            continue;
        }
        let composed = plug_provider(std::path::Path::new(path))
            .unwrap_or_else(|e| panic!("{name}: wac-graph plug failed: {e:#}"));
        let (imports, _) = checked_shape(&format!("{name} composed"), &composed);
        assert!(
            !imports.is_empty(),
            "{name}: the provider reads its fixture through WASI"
        );
        for import in imports {
            assert!(
                import.starts_with("wasi:"),
                "{name} composed still imports {import}"
            );
        }
    }
}

#[tokio::test]
async fn a_composed_workflow_runs_in_plain_wasmtime_and_answers_from_its_fixture() {
    let composed = plug_provider(std::path::Path::new(PROBE)).unwrap();
    let calls = Input::new(vec![
        Call::Context,
        list().page(),
        Call::get(FAILED),
        Call::get(THEIRS),
        list().limit(0).page(),
        Call::log_with("WARNING", "from the test", json!({"k": "v"})),
        logs().page(),
        logs().of(FAILED).start("1777111201000").page(),
    ]);
    let answer = run_with_fixture(&composed, &fixture(), &calls.to_json().to_string())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the probe failed: {e}"));
    let answers: Vec<Answer> = serde_json::from_str(&answer).unwrap();

    assert_eq!(
        answers[0].ok(),
        &json!({"execution_id": CURRENT, "workflow_name": "probe", "user_id": ME,
               "user_name": "Ada", "org_id": ORG, "is_platform_admin": false})
    );
    // A regular user sees their own executions in their organisation, newest first: the
    // running current execution (added by the provider), then the failed one.
    let listed: Vec<&str> = answers[1]
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["execution_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [CURRENT, FAILED]);
    let got = answers[2].ok();
    assert_eq!(got["status"], "Failed");
    assert_eq!(got["error_message"], "upstream timed out");
    assert_eq!(got["input_data"], json!({"batch": 7}));
    assert_eq!(got["variables"], Value::Null, "admin-only, redacted");
    assert_eq!(
        got["logs"].as_array().unwrap().len(),
        2,
        "ended: logs filled"
    );
    assert_eq!(got["started_at"], "2026-04-25T10:00:00.000000Z");
    assert_eq!(answers[3].kind(), ErrorKind::PermissionDenied);
    assert_eq!(answers[4].err().parameter.as_deref(), Some("limit"));
    assert_eq!(answers[5], Answer::Ok(Value::Null));
    let own = answers[6].ok().as_array().unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["message"], "from the test");
    assert_eq!(own[0]["level"], "WARNING");
    assert_eq!(own[0]["metadata"], json!({"k": "v"}));
    assert_eq!(own[0]["execution_id"], CURRENT);
    let from = answers[7].ok().as_array().unwrap();
    assert_eq!(from.len(), 1);
    assert_eq!(from[0]["message"], "gave up");
}

#[tokio::test]
async fn a_bad_fixture_makes_every_call_unavailable_with_the_reason() {
    let composed = plug_provider(std::path::Path::new(PROBE)).unwrap();
    let answer = run_with_fixture(
        &composed,
        &json!({"not": "a fixture"}),
        &Input::new(vec![list().page(), Call::log("INFO", "m")])
            .to_json()
            .to_string(),
    )
    .await
    .unwrap()
    .unwrap();
    let answers: Vec<Answer> = serde_json::from_str(&answer).unwrap();
    for a in &answers {
        assert_eq!(a.kind(), ErrorKind::Unavailable, "{a:?}");
        let message = &a.err().message;
        assert!(message.contains("fixture fixture.json"), "{message}");
        assert!(
            message.contains("caller"),
            "names the missing field: {message}"
        );
    }
}

#[tokio::test]
async fn an_uncomposed_workflow_is_refused_with_what_to_do() {
    let bytes = std::fs::read(PROBE).unwrap();
    let err = run_with_fixture(&bytes, &fixture(), "{}")
        .await
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("imports bifrost:executions/"), "{message}");
    assert!(message.contains("wac plug"), "{message}");
}

/// The offline walk-through of docs/EXECUTIONS-API.md ("Testing a workflow offline"): the failure report example, composed with the
/// provider, reads its shipped fixture.
#[tokio::test]
async fn the_failure_report_example_runs_offline_from_its_fixture() {
    let composed =
        plug_provider(std::path::Path::new(bifrost_tests::EXAMPLE_FAILURE_REPORT)).unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/failure-report/fixture.json");
    let answer = bifrost_runner::offline::run_composed(
        &composed,
        &fixture,
        r#"{"since": "2026-04-24T00:00:00Z"}"#,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    let report: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(report["total_failed"], 2);
    assert_eq!(
        report["by_workflow"],
        json!({"invoice": 1, "nightly-sync": 1})
    );
    let errors: Vec<&str> = report["recent_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["error_message"].as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            "timeout talking to CRM",
            "customer 4411 has no billing address"
        ]
    );
    // Its own lines, logged into the provider and read back: the start, the summary and
    // the warning about recent failures.
    assert_eq!(report["own_log_lines"], 3);
}

/// A parent composed with the provider starts children from the fixture's `workflows`: each
/// child is recorded with the current execution as its parent and ends as the fixture's run
/// for its input says; an unknown workflow is `not-found`, an id that is no child of the
/// current execution too; `list` shows the fixture's workflows, and `context` the parent the
/// fixture names.
#[tokio::test]
async fn a_composed_parent_starts_children_from_its_fixture() {
    let composed = plug_provider(std::path::Path::new(V0_3)).unwrap();
    let grandparent = "00000000-0000-4000-8000-0000000000ff";
    let mut fixture = fixture();
    fixture["current_execution"]["parent_execution_id"] = json!(grandparent);
    fixture["workflows"] = json!([
        {"name": "process_order", "version": "v7", "deployed_at": "2026-04-20T08:00:00Z",
         "runs": [
            {"input": {"order_id": "1"}, "result": {"shipped": true}},
            {"status": "Failed", "error_message": "no such order"}]},
        {"name": "cleanup"}
    ]);
    let run = |input: Value| {
        let composed = composed.clone();
        let fixture = fixture.clone();
        async move {
            let answer = run_with_fixture(&composed, &fixture, &input.to_string())
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("the parent failed: {e}"));
            serde_json::from_str::<Value>(&answer).unwrap()
        }
    };

    let r = run(json!({"start": "process_order", "input": r#"{"order_id":"1"}"#})).await;
    assert_eq!(r["parent"], grandparent);
    assert_eq!(r["own_parent"], grandparent);
    assert_eq!(
        r["list"],
        json!([{"name": "process_order", "version": "v7"}, {"name": "cleanup", "version": "fixture"}])
    );
    let started = r["start"].as_str().unwrap();
    assert_eq!(r["wait"]["execution_id"], started);
    for call in ["wait", "execute"] {
        let child = &r[call];
        assert_eq!(child["status"], "Success", "{call}: {r}");
        assert_eq!(child["result"], r#"{"shipped":true}"#);
        assert_eq!(child["parent_execution_id"], CURRENT);
        assert_eq!(child["workflow_name"], "process_order");
    }
    assert_ne!(r["execute"]["execution_id"], r["wait"]["execution_id"]);

    // Another input: the run listed for any input, a failed child (no error of the call).
    let r =
        run(json!({"start": "process_order", "do": ["execute"], "input": r#"{"order_id":"2"}"#}))
            .await;
    assert_eq!(r["execute"]["status"], "Failed");
    assert_eq!(r["execute"]["error_message"], "no such order");
    // A workflow with no runs succeeds with null.
    let r = run(json!({"start": "cleanup", "do": ["execute"]})).await;
    assert_eq!(r["execute"]["status"], "Success");
    assert_eq!(r["execute"]["result"], "null");

    let r = run(json!({"start": "nope", "do": ["start", "execute"]})).await;
    for call in ["start", "execute"] {
        assert_eq!(
            r[call],
            json!({"error": "not-found", "message": "nope"}),
            "{call}"
        );
    }
    // The fixture's own rows are no children of the current execution.
    let r = run(json!({"do": ["wait"], "wait": FAILED})).await;
    assert_eq!(r["wait"]["error"], "not-found");
}
