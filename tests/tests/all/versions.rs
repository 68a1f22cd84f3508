//! The host links `bifrost:executions` 0.3.0, 0.2.0 and 0.1.0: components built against
//! 0.1.0 and 0.2.0 (`tests/programs/src/v0_1.rs`, `v0_2.rs`, wit-bindgen alone) run as
//! executions and get the answers a 0.3.0 component gets, with times and log entry ids as
//! the text 0.1.0 sends; one built against 0.3.0 (`v0_3.rs`) reads its parent and calls
//! `workflows`.

use bifrost_core::model::StreamId;
use bifrost_core::model::rfc3339;
use bifrost_tests::{Answer, Backend, Call, EXAMPLE_HELLO, Harness, V0_1, V0_2, V0_3, admin};
use serde_json::{Value, json};

async fn a_0_1_component_runs_with_text_times_and_ids(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = admin(None);
    let earlier = h
        .run_file_ok(EXAMPLE_HELLO, "hello", json!({"name": "Ada"}), &who)
        .await;
    let earlier = h.env.store.get(earlier.id).await.unwrap();

    let done = h
        .run_file_ok(V0_1, "old", json!({"get": earlier.id.to_string()}), &who)
        .await;
    let r = done.result.clone().unwrap();
    let done = h.env.store.get(done.id).await.unwrap();
    assert_eq!(r["execution_id"], json!(done.id.to_string()));
    assert_eq!(r["workflow_name"], json!("old"));
    assert_eq!(r["caller"]["user_id"], json!(who.user_id.to_string()));
    assert_eq!(done.variables, Some(json!({"version": "0.1.0"})));

    // The own log read while running is the log stored at the end, ids and times as text.
    let stored = h
        .env
        .store
        .read_logs(done.id, StreamId::MIN, 1000)
        .await
        .unwrap();
    let read = r["logs"].as_array().unwrap();
    assert_eq!(read.len(), 2, "{r}");
    assert_eq!(stored.len(), 2);
    for (got, want) in read.iter().zip(&stored) {
        assert_eq!(got["id"], json!(want.id.to_string()));
        assert_eq!(got["timestamp"], json!(rfc3339(&want.timestamp)));
        assert_eq!(got["message"], json!(want.message));
        assert_eq!(got["execution_id"], json!(done.id.to_string()));
    }
    assert_eq!(read[1]["level"], json!("Warning"));
    assert_eq!(read[1]["metadata"], json!(r#"{"v":1}"#));
    // A start given as text, as 0.1.0 takes it; text that is no start is refused by the host.
    assert_eq!(r["logs_from_second"], json!([read[1].clone()]));
    assert_eq!(r["bad_start"]["error"], json!("invalid-argument"));
    assert_eq!(r["bad_start"]["parameter"], json!("start"));
    assert_eq!(
        r["bad_start"]["reason"],
        json!(StreamId::parse_start("soon").unwrap_err().to_string())
    );

    // `get` of an ended execution: its times and log as the store has them, as text.
    let got = &r["get"];
    assert_eq!(got["status"], json!("Success"));
    assert_eq!(got["input_data"], json!(r#"{"name":"Ada"}"#));
    assert_eq!(got["created_at"], json!(rfc3339(&earlier.created_at)));
    assert_eq!(
        got["started_at"],
        json!(rfc3339(&earlier.started_at.unwrap()))
    );
    assert_eq!(
        got["completed_at"],
        json!(rfc3339(&earlier.completed_at.unwrap()))
    );
    let ids: Vec<Value> = h
        .env
        .store
        .read_logs(earlier.id, StreamId::MIN, 1000)
        .await
        .unwrap()
        .iter()
        .map(|l| json!(l.id.to_string()))
        .collect();
    assert!(!ids.is_empty());
    let got_ids: Vec<Value> = got["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(got_ids, ids);

    // `list` shows the running execution itself and the earlier one as `get` does.
    let list = r["list"].as_array().unwrap();
    let own = list
        .iter()
        .find(|e| e["execution_id"] == r["execution_id"])
        .unwrap();
    assert_eq!(own["status"], json!("Running"));
    assert_eq!(own["started_at"], json!(rfc3339(&done.started_at.unwrap())));
    assert_eq!(own["completed_at"], Value::Null);
    let listed = list
        .iter()
        .find(|e| e["execution_id"] == got["execution_id"])
        .unwrap();
    for field in ["created_at", "started_at", "completed_at", "status"] {
        assert_eq!(listed[field], got[field], "{field}");
    }

    // A 0.2.0 component reads the same execution: the same times, as the same text, and the
    // same log entry ids; its own log read while it runs too.
    let v2 = h
        .run_file_ok(V0_2, "older", json!({"get": earlier.id.to_string()}), &who)
        .await;
    let r2 = v2.result.clone().unwrap();
    for field in ["created_at", "started_at", "completed_at"] {
        assert_eq!(r2[field], got[field], "{field}");
    }
    assert_eq!(r2["logs"].as_array().unwrap(), &ids);
    let own: Vec<Value> = h
        .env
        .store
        .read_logs(v2.id, StreamId::MIN, 1000)
        .await
        .unwrap()
        .iter()
        .map(|l| json!(l.id.to_string()))
        .collect();
    assert_eq!(r2["own_logs"].as_array().unwrap(), &own);
    assert_eq!(own.len(), 1);

    // A 0.3.0 component (the probe, through the guest crate) reads the same execution: the
    // same times, shown as the same text.
    let (_, answers) = h.probe(&who, vec![Call::get(earlier.id)]).await;
    let Answer::Ok(new) = &answers[0] else {
        panic!("{answers:?}")
    };
    for field in ["created_at", "started_at", "completed_at"] {
        assert_eq!(new[field], got[field], "{field}");
    }
    let new_ids: Vec<Value> = new["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(new_ids, ids);
    h.close().await;
}

/// A component built against 0.3.0 runs in the host: `context` and its own record name the
/// parent its run request gave, and `workflows`, on a host given nothing to start children
/// with (an embedder's, or this runner until it implements them), answers `unavailable` for
/// every call, never a trap. Outside an execution, every `workflows` call is
/// `no-execution-context`.
async fn a_0_3_component_reads_its_parent_and_calls_workflows(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = admin(None);
    let parent = h
        .run_file_ok(EXAMPLE_HELLO, "hello", json!({"name": "Ada"}), &who)
        .await;
    let workflow = h.runner.load_file(V0_3.as_ref()).unwrap();
    let done = h
        .runner
        .run(
            &workflow,
            bifrost_runner::RunRequest {
                workflow_name: "new".into(),
                input: json!({"wait": parent.id.to_string()}),
                identity: who.clone(),
                form_id: None,
                parent_execution_id: Some(parent.id),
                session_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status.as_str(), "Success", "{:?}", done.error_message);
    assert_eq!(done.parent_execution_id, Some(parent.id));
    let r = done.result.clone().unwrap();
    assert_eq!(r["parent"], json!(parent.id.to_string()));
    assert_eq!(r["own_parent"], json!(parent.id.to_string()));
    for call in ["list", "start", "wait", "execute"] {
        assert_eq!(r[call]["error"], json!("unavailable"), "{call}: {r}");
        assert_eq!(
            r[call]["message"],
            json!("this host starts no workflows from a workflow"),
            "{call}"
        );
    }

    let outside = bifrost_tests::run_outside_execution(h.env.service.clone(), who, V0_3, "{}")
        .await
        .unwrap();
    let r: Value = serde_json::from_str(&outside).unwrap();
    assert_eq!(r["parent"], Value::Null);
    assert_eq!(r["own_parent"], Value::Null);
    for call in ["list", "start", "wait", "execute"] {
        assert_eq!(
            r[call]["error"],
            json!("no-execution-context"),
            "{call}: {r}"
        );
    }
    h.close().await;
}

bifrost_tests::on_both_backends!(
    a_0_1_component_runs_with_text_times_and_ids,
    a_0_3_component_reads_its_parent_and_calls_workflows,
);
