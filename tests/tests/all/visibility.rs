//! The visibility rule through the guest: who sees which execution in `list`, `get` and
//! `get_current_logs` with an explicit id, with nothing leaking.

use std::collections::BTreeSet;

use bifrost_core::Identity;
use bifrost_core::model::{ExecutionStatus, LogLevel};
use bifrost_tests::{Backend, Call, ErrorKind, Harness, Seed, admin, ids, list, logs, user};
use chrono::{TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

async fn visibility_matrix_over_list_get_and_logs(backend: Backend) {
    let h = Harness::new(backend).await;
    let org_a = Uuid::new_v4();
    let org_b = Uuid::new_v4();

    let admin_all = admin(None);
    let admin_a = admin(Some(org_a));
    let alice = user(Some(org_a));
    let bob = user(Some(org_a));
    let carol = user(Some(org_b));
    let loner = user(None);

    let now = Utc::now();
    let seed = |by: &Identity, org: Option<Uuid>, minutes: i64| Seed {
        by: by.user_id,
        org,
        workflow: "seeded".into(),
        // Running: their lines are read from the live stream, where the loop below puts
        // them (once an execution's status is final, its lines are read from the store).
        status: ExecutionStatus::Running,
        started_at: now - TimeDelta::minutes(minutes),
    };
    let alice_a = h.env.seed(&seed(&alice, Some(org_a), 1)).await;
    let bob_a = h.env.seed(&seed(&bob, Some(org_a), 2)).await;
    let carol_b = h.env.seed(&seed(&carol, Some(org_b), 3)).await;
    let loner_none = h.env.seed(&seed(&loner, None, 4)).await;
    // Alice's own execution, but in another organisation than hers.
    let alice_b = h.env.seed(&seed(&alice, Some(org_b), 5)).await;
    let admin_a_own = h.env.seed(&seed(&admin_a, Some(org_a), 6)).await;
    let all = [alice_a, bob_a, carol_b, loner_none, alice_b, admin_a_own];

    // Every execution has a live log line.
    for id in all {
        bifrost_tests::append_lines(
            &*h.env.logs,
            id,
            LogLevel::Info,
            [format!("secret of {id}")],
        )
        .await;
    }

    let cases: [(&str, &Identity, Vec<Uuid>); 6] = [
        ("admin without organisation", &admin_all, all.to_vec()),
        ("admin of A", &admin_a, vec![alice_a, bob_a, admin_a_own]),
        ("alice, user of A", &alice, vec![alice_a]),
        ("bob, user of A", &bob, vec![bob_a]),
        ("carol, user of B", &carol, vec![carol_b]),
        ("user without organisation", &loner, vec![loner_none]),
    ];
    for (who_name, who, visible) in cases {
        let mut calls = vec![list().workflow_name("seeded").limit(1000).page()];
        for id in all {
            calls.push(Call::get(id));
            calls.push(logs().of(id).page());
        }
        let (_, answers) = h.probe(who, calls).await;

        let listed: BTreeSet<Uuid> = ids(&answers[0]).into_iter().collect();
        let expected: BTreeSet<Uuid> = visible.iter().copied().collect();
        assert_eq!(listed, expected, "{who_name}: list");

        for (i, id) in all.iter().enumerate() {
            let get = &answers[1 + 2 * i];
            let logs = &answers[2 + 2 * i];
            if visible.contains(id) {
                assert_eq!(
                    get.ok()["execution_id"],
                    json!(id.to_string()),
                    "{who_name}: get {id}"
                );
                let lines = logs.ok().as_array().unwrap();
                assert_eq!(lines.len(), 1, "{who_name}: logs {id}");
                assert_eq!(lines[0]["message"], json!(format!("secret of {id}")));
            } else {
                assert_eq!(
                    get.kind(),
                    ErrorKind::PermissionDenied,
                    "{who_name}: get {id}"
                );
                assert_eq!(
                    logs.kind(),
                    ErrorKind::PermissionDenied,
                    "{who_name}: logs {id}"
                );
                assert!(
                    !logs.err().message.contains("secret"),
                    "{who_name}: logs leak"
                );
            }
        }
    }
    h.close().await;
}

async fn not_found_and_denied_are_distinct(backend: Backend) {
    let h = Harness::new(backend).await;
    let owner = user(Some(Uuid::new_v4()));
    let theirs = h
        .env
        .seed(&Seed {
            by: owner.user_id,
            org: owner.organization_id,
            workflow: "w".into(),
            status: ExecutionStatus::Failed,
            started_at: Utc::now(),
        })
        .await;
    let missing = Uuid::new_v4();
    let stranger = user(owner.organization_id);
    let (_, answers) = h
        .probe(
            &stranger,
            vec![
                Call::get(theirs.to_string()),
                Call::get(missing.to_string()),
                logs().of(missing.to_string()).page(),
                Call::get("not-a-uuid"),
                logs().of("'; DROP TABLE executions; --").page(),
            ],
        )
        .await;
    assert_eq!(answers[0].kind(), ErrorKind::PermissionDenied);
    assert_eq!(answers[1].kind(), ErrorKind::NotFound);
    assert_eq!(answers[2].kind(), ErrorKind::NotFound);
    assert_eq!(answers[3].kind(), ErrorKind::InvalidArgument);
    assert_eq!(answers[3].err().parameter.as_deref(), Some("execution_id"));
    assert_eq!(answers[4].kind(), ErrorKind::InvalidArgument);
    h.close().await;
}

async fn variables_and_resource_figures_only_for_admins(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let me = user(Some(org));
    let (mine, _) = h
        .probe(
            &me,
            vec![
                Call::log("INFO", "kept"),
                Call::set_variable("k", json!({"deep": [1, 2]})),
            ],
        )
        .await;
    let id = mine.id.to_string();
    assert_eq!(mine.variables, Some(json!({"k": {"deep": [1, 2]}})));

    let (_, as_user) = h
        .probe(
            &me,
            vec![
                Call::get(&id),
                list().workflow_name("probe").limit(10).page(),
            ],
        )
        .await;
    let got = as_user[0].ok();
    assert_eq!(got["variables"], json!(null));
    assert_eq!(got["peak_memory_bytes"], json!(null));
    assert_eq!(got["cpu_total_seconds"], json!(null));
    for e in as_user[1].ok().as_array().unwrap() {
        assert_eq!(e["variables"], json!(null));
        assert_eq!(e["peak_memory_bytes"], json!(null));
    }
    // The user's own execution still shows its ids, input, result and logs.
    assert_eq!(got["execution_id"], json!(id));
    assert_eq!(got["workflow_name"], json!("probe"));
    assert_eq!(got["executed_by"], json!(me.user_id.to_string()));
    assert_eq!(got["org_id"], json!(org.to_string()));
    assert_eq!(got["status"], json!("Success"));
    assert_eq!(got["input_data"], mine.parameters);
    assert_eq!(got["result"], mine.result.clone().unwrap());
    let logs = got["logs"].as_array().expect("its logs");
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["message"], json!("kept"));
    let listed = as_user[1]
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["execution_id"] == json!(id))
        .cloned()
        .expect("its own execution in its list");
    assert_eq!(listed["input_data"], mine.parameters);
    assert_eq!(listed["result"], mine.result.clone().unwrap());

    let (_, as_admin) = h.probe(&admin(Some(org)), vec![Call::get(id)]).await;
    let got = as_admin[0].ok();
    assert_eq!(got["variables"], json!({"k": {"deep": [1, 2]}}));
    assert!(got["peak_memory_bytes"].as_i64().unwrap() > 0);
    assert!(got["cpu_total_seconds"].as_f64().is_some());

    // For those who may not see them, the stores do not even read them.
    let scope = bifrost_core::Scope::All;
    let query = bifrost_core::query::ListFilter::default()
        .validate(None)
        .unwrap();
    for with_variables in [false, true] {
        let row = h.env.store.fetch(mine.id, with_variables).await.unwrap();
        let rows = h
            .env
            .store
            .list(&scope, &query, with_variables)
            .await
            .unwrap();
        let listed = rows.iter().find(|e| e.id == mine.id).unwrap();
        assert_eq!(row.variables.is_some(), with_variables);
        assert_eq!(listed.variables.is_some(), with_variables);
    }
    h.close().await;
}

bifrost_tests::on_both_backends!(
    visibility_matrix_over_list_get_and_logs,
    not_found_and_denied_are_distinct,
    variables_and_resource_figures_only_for_admins,
);
