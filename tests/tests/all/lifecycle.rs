//! An execution's life in the runner: its row, its result, its logs, and every way a
//! workflow can end, with the example workflows as real users would write them.

use std::time::{Duration, Instant};

use bifrost_core::model::ExecutionStatus;
use bifrost_core::query::LogRange;
use bifrost_runner::{Ended, RunRequest, RunnerConfig};
use bifrost_tests::protocol::Input;
use bifrost_tests::{
    Answer, Backend, Call, EXAMPLE_FAILURE_REPORT, EXAMPLE_HELLO, Harness, Seed, admin, list, user,
};
use chrono::{TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

/// Whether the execution still has a live log stream.
async fn stream_exists(h: &Harness, id: Uuid) -> bool {
    !h.env
        .logs
        .read(id, Default::default(), 1)
        .await
        .unwrap()
        .is_empty()
}

async fn hello_example_runs_and_is_recorded(backend: Backend) {
    let h = Harness::new(backend).await;
    let hello = h.runner.load_file(EXAMPLE_HELLO.as_ref()).unwrap();
    let who = user(Some(Uuid::new_v4()));
    let done = h
        .runner
        .run(
            &hello,
            RunRequest {
                workflow_name: "hello".into(),
                input: json!({"name": "Ada"}),
                identity: who.clone(),
                form_id: Some(Uuid::new_v4()),
                parent_execution_id: None,
                session_id: Some("cli-1".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "{:?}",
        done.error_message
    );
    assert_eq!(done.result, Some(json!({"greeting": "Hello, Ada!"})));
    assert_eq!(done.result_type.as_deref(), Some("json"));
    assert_eq!(done.parameters, json!({"name": "Ada"}));
    assert_eq!(done.executed_by, who.user_id);
    assert_eq!(done.executed_by_name, who.user_name);
    assert_eq!(done.organization_id, who.organization_id);
    assert_eq!(done.session_id.as_deref(), Some("cli-1"));
    assert!(done.form_id.is_some());
    assert!(done.duration_ms.is_some());
    assert!(done.started_at.unwrap() >= done.created_at);
    assert!(done.completed_at.unwrap() >= done.started_at.unwrap());
    assert!(done.peak_memory_bytes.unwrap() > 0);
    assert!(done.cpu_total_seconds.unwrap() > 0.0);
    assert_eq!(done.variables, Some(json!({"greeted": "Ada"})));

    // Its log lines, with their metadata, moved to the database; the stream is gone once
    // the runner has settled (it is deleted after the run returns).
    let logs = done.logs.clone().unwrap();
    let info = logs
        .iter()
        .find(|l| l.message == "greeting Ada")
        .expect("info line");
    assert_eq!(
        info.metadata.as_ref().unwrap().to_value()["name"],
        json!("Ada")
    );
    h.runner.settle().await;
    assert!(!stream_exists(&h, done.id).await);
    let stored = h
        .env
        .store
        .read_logs(done.id, Default::default(), 1000)
        .await
        .unwrap();
    assert_eq!(stored, logs);

    // The row as the store has it matches what the run returned.
    let row = h.env.store.get(done.id).await.unwrap();
    assert_eq!(row.status, ExecutionStatus::Success);
    assert_eq!(row.result, done.result);
    h.close().await;
}

async fn context_is_bound_by_the_host(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = user(Some(Uuid::new_v4()));
    let (done, answers) = h.probe(&who, vec![Call::Context]).await;
    let ctx = answers[0].ok();
    assert_eq!(ctx["execution_id"], json!(done.id.to_string()));
    assert_eq!(ctx["workflow_name"], json!("probe"));
    assert_eq!(ctx["user_id"], json!(who.user_id.to_string()));
    assert_eq!(ctx["user_name"], json!(who.user_name));
    assert_eq!(
        ctx["org_id"],
        json!(who.organization_id.unwrap().to_string())
    );
    assert_eq!(ctx["is_platform_admin"], json!(false));
    h.close().await;
}

async fn own_status_is_running_during_the_run(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = admin(None);
    // The probe cannot know its id before it runs; `list` of workflow "probe" newest first
    // shows it.
    let (done, answers) = h
        .probe(&who, vec![list().workflow_name("probe").limit(1).page()])
        .await;
    let listed = answers[0].ok().as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["execution_id"], json!(done.id.to_string()));
    assert_eq!(listed[0]["status"], json!("Running"));
    assert_eq!(done.status, ExecutionStatus::Success);
    h.close().await;
}

/// With every instance slot taken, a new execution is recorded `Pending` and waits; it
/// becomes `Running` when a slot frees, and both end `Success`. (With a slot free, the row
/// is written once, already `Running`: `own_status_is_running_during_the_run`.)
async fn an_execution_waits_pending_for_a_free_slot(backend: Backend) {
    let h = Harness::with_config(
        backend,
        RunnerConfig {
            max_instances: 1,
            ..bifrost_tests::test_config()
        },
    )
    .await;
    let who = admin(None);
    let first = h.run_probe(
        &who,
        vec![Call::LogSlowly {
            n: 4,
            pause_ms: 250,
        }],
    );
    let second = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.run_probe(&who, vec![]).await
    };
    let watch = async {
        // While the first holds the only slot, the second is recorded and waits.
        let started = Instant::now();
        loop {
            let all = h.env.service.list(&who, &Default::default()).await.unwrap();
            if all.len() == 2 {
                let statuses: Vec<ExecutionStatus> = all.iter().map(|e| e.status).collect();
                assert_eq!(
                    statuses,
                    [ExecutionStatus::Pending, ExecutionStatus::Running],
                    "newest first: the waiting one, then the one holding the slot"
                );
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{all:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (first, second, ()) = tokio::join!(first, second, watch);
    assert_eq!(first.status, ExecutionStatus::Success);
    assert_eq!(second.status, ExecutionStatus::Success);
    // The second started when the first had finished, after it had been created.
    assert!(second.started_at.unwrap() >= first.completed_at.unwrap());
    assert!(second.created_at < second.started_at.unwrap());
    h.close().await;
}

/// `call_detached` runs a workflow outside any execution (no context, queries as the given
/// identity) and `execute` runs it in an execution's context with its lines streamed and
/// returned; neither records anything.
async fn detached_and_unrecorded_calls_record_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = admin(None);
    let recorded = h.run_probe(&who, vec![]).await;

    let input = Input::new(vec![Call::Context, list().page()])
        .to_json()
        .to_string();
    let ended = h.runner.call_detached(&h.probe, &who, &input).await;
    let Ended::Returned(text) = ended else {
        panic!("{ended:?}")
    };
    let answers: Vec<Answer> = serde_json::from_str(&text).unwrap();
    assert_eq!(answers[0].ok()["execution_id"], json!(null));
    assert_eq!(answers[0].ok()["user_id"], json!(who.user_id.to_string()));
    let listed = answers[1].ok().as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["execution_id"], json!(recorded.id.to_string()));

    let id = Uuid::new_v4();
    let request = RunRequest {
        workflow_name: "probe".into(),
        input: Input::new(vec![Call::LogMany { n: 3 }, Call::Context]).to_json(),
        identity: who.clone(),
        form_id: None,
        parent_execution_id: None,
        session_id: None,
    };
    let executed = h.runner.execute(&h.probe, &request, id).await;
    let Ended::Returned(text) = &executed.ended else {
        panic!("{:?}", executed.ended)
    };
    let answers: Vec<Answer> = serde_json::from_str(text).unwrap();
    assert_eq!(answers[1].ok()["execution_id"], json!(id.to_string()));
    assert_eq!(executed.logs.entries.len(), 3);
    let live = h
        .env
        .service
        .read_logs(
            id,
            ExecutionStatus::Running,
            LogRange::validate(None, None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        live, executed.logs.entries,
        "the lines are in the live stream"
    );

    let all = h.env.service.list(&who, &Default::default()).await.unwrap();
    assert_eq!(all.len(), 1, "only the recorded run: {all:?}");
    h.close().await;
}

async fn workflow_error_fails_the_execution(backend: Backend) {
    let h = Harness::new(backend).await;
    let done = h
        .run_probe(
            &user(None),
            vec![Call::log("INFO", "before"), Call::fail("no such customer")],
        )
        .await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error_message.as_deref(), Some("no such customer"));
    assert_eq!(done.result, None);
    assert!(done.logs.unwrap().iter().any(|l| l.message == "before"));
    h.close().await;
}

async fn panic_fails_the_execution_with_the_trap_and_keeps_stderr(backend: Backend) {
    let h = Harness::new(backend).await;
    let done = h
        .run_probe(&user(None), vec![Call::panic("bad state 42")])
        .await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    let message = done.error_message.unwrap();
    assert!(message.contains("trap"), "{message}");
    let logs = done.logs.unwrap();
    assert!(
        logs.iter()
            .any(|l| l.level == bifrost_core::model::LogLevel::Error
                && l.message.contains("bad state 42")),
        "panic message in stderr lines: {logs:?}"
    );
    // The runner still works.
    let (_, answers) = h.probe(&user(None), vec![Call::Context]).await;
    assert_eq!(answers.len(), 1);
    h.close().await;
}

async fn endless_loop_times_out_at_the_deadline(backend: Backend) {
    let h = Harness::with_config(
        backend,
        RunnerConfig {
            deadline: Duration::from_millis(500),
            ..bifrost_tests::test_config()
        },
    )
    .await;
    let clock = Instant::now();
    let done = h.run_probe(&user(None), vec![Call::Spin]).await;
    let took = clock.elapsed();
    assert_eq!(done.status, ExecutionStatus::Timeout);
    assert!(done.error_message.unwrap().contains("deadline"));
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    h.close().await;
}

async fn memory_beyond_the_cap_fails_the_execution(backend: Backend) {
    let h = Harness::with_config(
        backend,
        RunnerConfig {
            max_memory_bytes: 32 << 20,
            ..bifrost_tests::test_config()
        },
    )
    .await;
    let done = h
        .run_probe(&user(None), vec![Call::GrowMemory { mebibytes: 64 }])
        .await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    let message = done.error_message.unwrap();
    assert!(message.contains("memory limit"), "{message}");
    // Within the cap is fine.
    let (_, answers) = h
        .probe(&user(None), vec![Call::GrowMemory { mebibytes: 8 }])
        .await;
    assert_eq!(answers[0].ok(), &json!(8));
    h.close().await;
}

async fn stdout_and_stderr_become_log_lines(backend: Backend) {
    let h = Harness::new(backend).await;
    let (done, _) = h
        .probe(
            &user(None),
            vec![
                Call::print("to stdout\nsecond line"),
                Call::eprint("to stderr"),
            ],
        )
        .await;
    let logs = done.logs.unwrap();
    let find = |m: &str| {
        logs.iter()
            .find(|l| l.message == m)
            .unwrap_or_else(|| panic!("{m} in {logs:?}"))
    };
    assert_eq!(find("to stdout").level, bifrost_core::model::LogLevel::Info);
    assert_eq!(
        find("second line").level,
        bifrost_core::model::LogLevel::Info
    );
    assert_eq!(
        find("to stderr").level,
        bifrost_core::model::LogLevel::Error
    );
    h.close().await;
}

async fn input_that_does_not_match_fails_clearly(backend: Backend) {
    let h = Harness::new(backend).await;
    let done = h
        .runner
        .run(
            &h.probe,
            RunRequest {
                workflow_name: "probe".into(),
                input: json!({"calls": "not a list"}),
                identity: user(None),
                form_id: None,
                parent_execution_id: None,
                session_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert!(done.error_message.unwrap().contains("input"));
    h.close().await;
}

async fn failure_report_example_summarises_the_last_day(backend: Backend) {
    let h = Harness::new(backend).await;
    let org = Uuid::new_v4();
    let me = admin(Some(org));
    let now = Utc::now();
    let mut expected = 0;
    for (workflow, status, hours_ago, org) in [
        ("billing", ExecutionStatus::Failed, 1, Some(org)),
        ("billing", ExecutionStatus::Failed, 5, Some(org)),
        ("sync", ExecutionStatus::Failed, 23, Some(org)),
        ("sync", ExecutionStatus::Failed, 30, Some(org)),
        ("sync", ExecutionStatus::Success, 2, Some(org)),
        (
            "other-org",
            ExecutionStatus::Failed,
            2,
            Some(Uuid::new_v4()),
        ),
    ] {
        if status == ExecutionStatus::Failed && hours_ago < 24 && org == me.organization_id {
            expected += 1;
        }
        h.env
            .seed(&Seed {
                by: Uuid::new_v4(),
                org,
                workflow: workflow.into(),
                status,
                started_at: now - TimeDelta::hours(hours_ago),
            })
            .await;
    }
    let report = h.runner.load_file(EXAMPLE_FAILURE_REPORT.as_ref()).unwrap();
    let done = h
        .runner
        .run(
            &report,
            RunRequest {
                workflow_name: "failure-report".into(),
                input: json!({}),
                identity: me,
                form_id: None,
                parent_execution_id: None,
                session_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "{:?}",
        done.error_message
    );
    let result = done.result.unwrap();
    assert_eq!(expected, 3);
    assert_eq!(result["total_failed"], json!(expected), "{result}");
    assert_eq!(
        result["by_workflow"],
        json!({"billing": 2, "sync": 1}),
        "{result}"
    );
    // It read its own log back: the three lines it wrote before counting (the start, the
    // summary, the warning about recent failures); then it logged the count.
    assert_eq!(result["own_log_lines"], json!(3), "{result}");
    let logs = done.logs.unwrap();
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[0], "collecting failed executions");
    assert_eq!(
        messages[1],
        format!(
            "3 failed executions since {}",
            result["since"].as_str().unwrap()
        )
    );
    assert_eq!(messages[2], "most recent failures");
    assert_eq!(messages[3], "read back this execution's log");
    h.close().await;
}

/// Submits `new` to `queue`, due at `due` (from its creation time).
async fn enqueue(
    queue: &dyn bifrost_core::queue::QueueStore,
    new: &bifrost_core::model::NewExecution,
    due: TimeDelta,
) {
    queue
        .submit(&bifrost_core::queue::Submission {
            new: new.clone(),
            workflow_version: "0".repeat(64),
            is_platform_admin: false,
            due_at: new.created_at + due,
        })
        .await
        .unwrap();
}

/// Claims what is due now: marked `Running` as a runner would.
async fn claim_due(
    queue: &dyn bifrost_core::queue::QueueStore,
) -> Vec<bifrost_core::queue::Claimed> {
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    queue
        .claim(
            10,
            &bifrost_core::store::RunStart {
                started_at: now,
                deadline_at: now + TimeDelta::minutes(5),
                lease_until: now + TimeDelta::minutes(1),
            },
        )
        .await
        .unwrap()
}

/// A child execution names its parent: in its row as `get` and `list` read it, and in the
/// queue's claim that hands it to a runner. An execution started from outside names none.
async fn a_child_names_its_parent(backend: Backend) {
    let env = bifrost_tests::TestEnv::new(backend).await;
    let queue = env.backends().await.queue;
    let who = user(Some(Uuid::new_v4()));
    let parent = bifrost_tests::new_row(&who, "parent", None);
    env.store.create(&parent).await.unwrap();
    let child = bifrost_tests::new_row(&who, "child", Some(parent.id));
    env.store.create(&child).await.unwrap();

    let got = env.service.get(&who, &child.id.to_string()).await.unwrap();
    assert_eq!(got.parent_execution_id, Some(parent.id));
    let got = env.service.get(&who, &parent.id.to_string()).await.unwrap();
    assert_eq!(got.parent_execution_id, None);
    let listed = env
        .service
        .list(&who, &bifrost_core::query::ListFilter::default())
        .await
        .unwrap();
    let parents: Vec<(Uuid, Option<Uuid>)> = listed
        .iter()
        .map(|e| (e.id, e.parent_execution_id))
        .collect();
    assert!(
        parents.contains(&(child.id, Some(parent.id))),
        "{parents:?}"
    );
    assert!(parents.contains(&(parent.id, None)), "{parents:?}");

    // Through the queue: submitted with its parent, claimed with it.
    let queued = bifrost_tests::new_row(&who, "child", Some(parent.id));
    enqueue(&*queue, &queued, TimeDelta::zero()).await;
    let claimed = claim_due(&*queue).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].new.id, queued.id);
    assert_eq!(claimed[0].new.parent_execution_id, Some(parent.id));
    env.close().await;
}

/// Cancelling an execution cancels the executions it started that have not ended, and
/// theirs: queued ones at once, running ones `Cancelling` for their runners to stop. An
/// execution outside the tree, and the tree of a parent that has ended, are left alone.
async fn cancelling_a_parent_cancels_its_unfinished_descendants(backend: Backend) {
    use bifrost_core::model::ExecutionStatus as S;
    use bifrost_core::queue::CancelOutcome;

    let env = bifrost_tests::TestEnv::new(backend).await;
    let queue = env.backends().await.queue;
    let who = user(None);
    // parent (running) -> running child -> scheduled grandchild; parent -> pending child.
    let parent = bifrost_tests::new_row(&who, "parent", None);
    enqueue(&*queue, &parent, TimeDelta::zero()).await;
    assert_eq!(claim_due(&*queue).await.len(), 1);
    let running = bifrost_tests::new_row(&who, "child", Some(parent.id));
    enqueue(&*queue, &running, TimeDelta::zero()).await;
    assert_eq!(claim_due(&*queue).await.len(), 1);
    let grandchild = bifrost_tests::new_row(&who, "child", Some(running.id));
    enqueue(&*queue, &grandchild, TimeDelta::hours(1)).await;
    let pending = bifrost_tests::new_row(&who, "child", Some(parent.id));
    enqueue(&*queue, &pending, TimeDelta::zero()).await;
    let outsider = bifrost_tests::new_row(&who, "parent", None);
    enqueue(&*queue, &outsider, TimeDelta::zero()).await;

    let cancelled = queue.cancel(parent.id, Utc::now()).await.unwrap().unwrap();
    assert_eq!(cancelled, CancelOutcome::Cancelling);
    assert_eq!(env.status(parent.id).await, S::Cancelling);
    assert_eq!(env.status(running.id).await, S::Cancelling);
    assert_eq!(env.status(grandchild.id).await, S::Cancelled);
    assert_eq!(env.status(pending.id).await, S::Cancelled);
    assert_eq!(env.status(outsider.id).await, S::Pending);

    // A parent that has ended: cancelling it changes nothing, below it either.
    let ended = bifrost_tests::new_row(&who, "parent", None);
    enqueue(&*queue, &ended, TimeDelta::zero()).await;
    queue.cancel(ended.id, Utc::now()).await.unwrap().unwrap();
    let late = bifrost_tests::new_row(&who, "child", Some(ended.id));
    enqueue(&*queue, &late, TimeDelta::hours(1)).await;
    let again = queue.cancel(ended.id, Utc::now()).await.unwrap();
    assert_eq!(again.unwrap_err().status, S::Cancelled);
    assert_eq!(env.status(late.id).await, S::Scheduled);
    env.close().await;
}

/// A parent whose runner died is marked `Stuck` by the sweep, and what it started that has
/// not ended is cancelled with it: no child is left running behind a dead parent.
async fn a_stuck_parents_children_are_cancelled_by_the_sweep(backend: Backend) {
    use bifrost_core::model::ExecutionStatus as S;

    let h = bifrost_tests::Harness::new(backend).await;
    let queue = h.env.backends().await.queue;
    let who = user(None);
    let parent = bifrost_tests::new_row(&who, "parent", None);
    enqueue(&*queue, &parent, TimeDelta::zero()).await;
    // Claimed by a runner that went away: its lease has already run out.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let claimed = queue
        .claim(
            1,
            &bifrost_core::store::RunStart {
                started_at: now,
                deadline_at: now + TimeDelta::minutes(5),
                lease_until: now - TimeDelta::seconds(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let child = bifrost_tests::new_row(&who, "child", Some(parent.id));
    enqueue(&*queue, &child, TimeDelta::hours(1)).await;

    let stuck = bifrost_runner::worker::sweep(&h.env.service, Duration::from_secs(30), &*queue)
        .await
        .unwrap();
    assert_eq!(stuck, [parent.id]);
    assert_eq!(h.env.status(parent.id).await, S::Stuck);
    assert_eq!(h.env.status(child.id).await, S::Cancelled);
    h.close().await;
}

bifrost_tests::on_both_backends!(
    hello_example_runs_and_is_recorded,
    a_stuck_parents_children_are_cancelled_by_the_sweep,
    a_child_names_its_parent,
    cancelling_a_parent_cancels_its_unfinished_descendants,
    context_is_bound_by_the_host,
    own_status_is_running_during_the_run,
    an_execution_waits_pending_for_a_free_slot,
    detached_and_unrecorded_calls_record_nothing,
    workflow_error_fails_the_execution,
    panic_fails_the_execution_with_the_trap_and_keeps_stderr,
    endless_loop_times_out_at_the_deadline,
    memory_beyond_the_cap_fails_the_execution,
    stdout_and_stderr_become_log_lines,
    input_that_does_not_match_fails_clearly,
    failure_report_example_summarises_the_last_day,
);

/// An in-memory SQLite store (`sqlite::memory:`, as the benchmarks and embedders open one)
/// is the process's own: opening it writes nothing to disk, in particular no migration lock
/// file in the working directory under the driver's name for the database.
#[tokio::test]
async fn an_in_memory_sqlite_store_writes_no_file() {
    for url in [
        "sqlite::memory:",
        "sqlite://bifrost-test-memory?mode=memory",
    ] {
        bifrost_sql::SqliteStore::connect(url).await.unwrap();
    }
    let stray: Vec<String> = std::fs::read_dir(".")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("sqlx-in-memory") || n.contains("bifrost-test-memory"))
        .collect();
    assert_eq!(stray, Vec::<String>::new());
}

/// The applied migrations of a database: `(version, checksum)`, oldest first.
const APPLIED: &str = "SELECT version, checksum FROM _sqlx_migrations ORDER BY version";

/// The migrations directory of a dialect, as sqlx's own reader (and `sqlx::migrate!`, which
/// earlier releases embedded) reads it.
async fn directory_migrator(dialect: &str) -> (sqlx::migrate::Migrator, usize) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sql/migrations")
        .join(dialect);
    let files = std::fs::read_dir(&dir).unwrap().count();
    let migrator = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
    (migrator, files)
}

/// A database that earlier releases migrated (sqlx reading the migrations directory, as its
/// `migrate!` macro did) opens with the migrations the library embeds: the same versions
/// and checksums, nothing applied twice, no "migration was modified" error.
#[tokio::test]
async fn a_database_migrated_by_an_earlier_release_opens_unchanged() {
    // PostgreSQL.
    let (migrator, files) = directory_migrator("postgres").await;
    let (database, url) = bifrost_tests::empty_postgres_database().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    migrator.run(&pool).await.unwrap();
    let before: Vec<(i64, Vec<u8>)> = sqlx::query_as(APPLIED).fetch_all(&pool).await.unwrap();
    let store = bifrost_sql::PostgresStore::connect(&url).await.unwrap();
    let after: Vec<(i64, Vec<u8>)> = sqlx::query_as(APPLIED)
        .fetch_all(store.pool())
        .await
        .unwrap();
    pool.close().await;
    store.pool().close().await;
    bifrost_tests::drop_postgres_database(&database).await;
    assert_eq!(before.len(), files);
    assert_eq!(after, before);

    // SQLite.
    let (migrator, files) = directory_migrator("sqlite").await;
    let dir = std::env::temp_dir().join(format!("bifrost-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bifrost.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    migrator.run(&pool).await.unwrap();
    let before: Vec<(i64, Vec<u8>)> = sqlx::query_as(APPLIED).fetch_all(&pool).await.unwrap();
    pool.close().await;
    let store = bifrost_sql::SqliteStore::open_file(&path).await.unwrap();
    let after: Vec<(i64, Vec<u8>)> = sqlx::query_as(APPLIED)
        .fetch_all(store.pool())
        .await
        .unwrap();
    store.pool().close().await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(before.len(), files);
    assert_eq!(after, before);
}
