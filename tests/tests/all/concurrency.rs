//! Many executions at once in one runner: every one finishes, nothing is lost, and the
//! embedded store never reports "database is locked".

use std::collections::HashSet;

use bifrost_core::model::{ExecutionStatus, StreamId};
use bifrost_core::query::ListFilter;
use bifrost_tests::{Backend, Call, Harness, admin, list, user};
use serde_json::json;

const EXECUTIONS: usize = 100;
const LINES: u32 = 20;

async fn hundred_executions_at_once(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = uuid::Uuid::new_v4();
    let calls = vec![
        Call::LogMany { n: LINES },
        Call::set_variable("done", json!(true)),
        list().limit(5).page(),
        Call::print("bye"),
    ];
    let runs = (0..EXECUTIONS).map(|_| {
        let who = user(Some(org));
        let calls = calls.clone();
        let h = &h;
        async move { h.run_probe(&who, calls).await }
    });
    let done = futures::future::join_all(runs).await;

    let mut ids = HashSet::new();
    for e in &done {
        assert_eq!(e.status, ExecutionStatus::Success, "{:?}", e.error_message);
        assert!(ids.insert(e.id));
        let logs = e.logs.as_ref().unwrap();
        assert_eq!(logs.len(), LINES as usize + 1, "every line of {}", e.id);
        for (i, line) in logs.iter().take(LINES as usize).enumerate() {
            assert_eq!(line.message, format!("line {i}"));
        }
        assert_eq!(logs.last().unwrap().message, "bye");
        assert_eq!(e.variables, Some(json!({"done": true})));
        // And as stored.
        let stored = h
            .env
            .store
            .read_logs(e.id, StreamId::MIN, 1000)
            .await
            .unwrap();
        assert_eq!(&stored, logs);
    }
    let all = h
        .env
        .service
        .list(
            &admin(Some(org)),
            &ListFilter {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), EXECUTIONS);
    assert!(all.iter().all(|e| e.status == ExecutionStatus::Success));
    h.close().await;
}

bifrost_tests::on_both_backends!(hundred_executions_at_once);

/// Every instance slot busy, again and again, from two threads: each execution starts, as
/// the pool has room for the instances of all the slots and a slot given back is room
/// given back. The pool's side of this, that room given back on one thread is found by an
/// instantiation on another at once, is pinned by the engine's own test
/// (`pool_room_given_back_on_one_thread_is_found_at_once_on_another` in
/// `runner/src/engine.rs`), which fails every time when the room comes back in batches;
/// this test runs the runner's slot permits over it. The pool does not depend on the
/// backend; the servers turn it over fastest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_slots_never_run_short_of_pool_room() {
    const RUNS: usize = 600;
    let h = std::sync::Arc::new(
        Harness::with_config(
            Backend::Servers,
            bifrost_runner::RunnerConfig {
                max_instances: 6,
                ..bifrost_tests::test_config()
            },
        )
        .await,
    );
    let who = admin(None);
    let runs: Vec<_> = (0..RUNS)
        .map(|_| {
            let (h, who) = (h.clone(), who.clone());
            tokio::spawn(async move {
                h.run_probe(&who, vec![Call::LogSlowly { n: 5, pause_ms: 20 }])
                    .await
            })
        })
        .collect();
    for run in runs {
        let e = run.await.unwrap();
        assert_eq!(e.status, ExecutionStatus::Success, "{:?}", e.error_message);
    }
    std::sync::Arc::into_inner(h).unwrap().close().await;
}
