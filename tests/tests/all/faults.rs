//! Faults of the servers under running executions: Redis restarted (losing every stream),
//! a Redis Cluster's master killed, PostgreSQL restarted. Each test runs servers of its own, so that it can stop them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bifrost_core::error::StoreError;
use bifrost_core::logs::LogStream;
use bifrost_core::model::{Execution, ExecutionStatus, StreamId};
use bifrost_core::model::{LogEntry, NewExecution, Outcome};
use bifrost_core::query::ListFilter;
use bifrost_core::store::{ExecutionReader, ExecutionStore, RunRecorder, RunStart};
use bifrost_core::{ApiError, ExecutionsService, Identity};
use bifrost_redis::RedisLogStream;
use bifrost_runner::{LoadedWorkflow, RunRequest, Runner, RunnerConfig};
use bifrost_sql::PostgresStore;
use bifrost_tests::protocol::Input;
use bifrost_tests::servers::{OwnPostgres, OwnRedis, OwnRedisCluster};
use bifrost_tests::{Backend, Call, ErrorKind, PROBE, TestEnv, admin, list, user};
use serde_json::Value;
use uuid::Uuid;

const EXECUTIONS: usize = 8;

async fn run_all(
    runner: &Runner,
    probe: &LoadedWorkflow,
    who: &Identity,
    calls: Vec<Call>,
) -> Vec<Execution> {
    let input = Input::new(calls).to_json();
    let runs = (0..EXECUTIONS).map(|_| {
        runner.run(
            probe,
            RunRequest {
                workflow_name: "probe".into(),
                input: input.clone(),
                identity: who.clone(),
                form_id: None,
                parent_execution_id: None,
                session_id: None,
            },
        )
    });
    futures::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.expect("the run ends with a recorded execution"))
        .collect()
}

/// Every execution's stored log is exactly `line 0` .. `line {n-1}`, in order, ids rising.
async fn assert_complete_logs(store: &dyn ExecutionStore, done: &[Execution], n: usize) {
    for e in done {
        let stored = store.read_logs(e.id, StreamId::MIN, 1000).await.unwrap();
        let messages: Vec<&str> = stored.iter().map(|l| l.message.as_str()).collect();
        let want: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
        assert_eq!(messages, want, "execution {}", e.id);
        assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(e.log_lines_dropped, None);
    }
}

/// The executions running now (up to 100), as a platform admin lists them.
async fn running_now(service: &ExecutionsService) -> Vec<Execution> {
    service
        .list(
            &admin(None),
            &ListFilter {
                status: Some(ExecutionStatus::Running),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

/// The probe's calls: `lines` lines, 20 ms apart.
fn log_slowly(lines: usize) -> Vec<Call> {
    vec![Call::LogSlowly {
        n: lines as u32,
        pause_ms: 20,
    }]
}

#[tokio::test]
async fn redis_restart_during_runs_loses_no_line() {
    let env = TestEnv::new(Backend::Servers).await;
    let mut redis = OwnRedis::start();
    let logs = RedisLogStream::connect(&redis.url()).await.unwrap();
    let service = ExecutionsService::new(env.store.clone(), Arc::new(logs));
    let runner = Runner::new(service.clone(), bifrost_tests::test_config()).unwrap();
    let probe = runner.load_file(PROBE.as_ref()).unwrap();
    let who = user(None);
    let lines = 100;

    let runs = run_all(&runner, &probe, &who, log_slowly(lines));
    let outage = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let running = running_now(&service).await;
        assert!(
            !running.is_empty(),
            "executions are running when Redis goes"
        );
        redis.stop();
        let down = Instant::now();
        // Reads during the outage are errors, not empty lists.
        let read = service
            .logs(&who, None, Some(&running[0].id.to_string()), None, None)
            .await;
        assert!(matches!(read, Err(ApiError::Unavailable(_))), "{read:?}");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        redis.restart();
        let outage = down.elapsed();
        // Once the writers have caught up (they retry with a backoff of up to a second), a
        // live reader sees the whole log again, from the first line, with no gap (the
        // restarted server had lost every stream).
        let id = running[0].id.to_string();
        let mut again = Vec::new();
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            again = service
                .logs(&who, None, Some(&id), None, Some(1000))
                .await
                .unwrap();
            if again.len() > 30 {
                break;
            }
        }
        assert!(again.len() > 30, "{} lines", again.len());
        for (i, line) in again.iter().enumerate() {
            assert_eq!(line.message, format!("line {i}"));
        }
        outage
    };
    let (done, outage) = tokio::join!(runs, outage);
    for e in &done {
        assert_eq!(e.status, ExecutionStatus::Success, "{:?}", e.error_message);
    }
    assert_complete_logs(&*env.store, &done, lines).await;
    eprintln!(
        "redis restart: outage {} ms; {} executions x {lines} lines written, {} found, each once and in order",
        outage.as_millis(),
        done.len(),
        done.len() * lines
    );
    env.close().await;
}

/// A Redis Cluster of three masters with a replica each; while eight executions log, the
/// master of the first one's stream is killed with SIGKILL. A live read of that stream is
/// `unavailable` until a replica takes over, and answers again after; every execution ends
/// `Success` with its whole log stored; the holes in the live streams after the failover
/// (what Redis's asynchronous replication lost and the writers did not send again) are
/// counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_master_killed_during_runs_loses_no_stored_line() {
    let env = TestEnv::new(Backend::Servers).await;
    let mut cluster = OwnRedisCluster::start(3, 1);
    let logs = RedisLogStream::connect(&cluster.url()).await.unwrap();
    assert!(logs.is_cluster());
    let service = ExecutionsService::new(env.store.clone(), Arc::new(logs.clone()));
    let runner = Runner::new(service.clone(), bifrost_tests::test_config()).unwrap();
    let probe = runner.load_file(PROBE.as_ref()).unwrap();
    let who = user(None);
    let lines = 300;

    let runs = run_all(&runner, &probe, &who, log_slowly(lines));
    let fault = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let running = running_now(&service).await;
        assert!(
            !running.is_empty(),
            "executions are running when the master goes"
        );
        let victim = running[0].id;
        let master = cluster.master_of(&logs.key(victim));
        cluster.kill(master);
        let down = Instant::now();
        // A read of a stream of the dead master's slots is an error, not an empty list.
        let read = service
            .logs(&who, None, Some(&victim.to_string()), None, None)
            .await;
        assert!(matches!(read, Err(ApiError::Unavailable(_))), "{read:?}");
        // Until a replica takes over (the cluster's node timeout, 1 s, and an election).
        let mut answered = None;
        while down.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Ok(lines) = service
                .logs(&who, None, Some(&victim.to_string()), None, Some(1000))
                .await
            {
                answered = Some((down.elapsed(), lines.len()));
                break;
            }
        }
        let (outage, seen) = answered.expect("the stream answers again once a replica took over");

        // The writers have re-synced (they retry within a second): every live stream,
        // while its execution still runs, is `line 0`.. with no hole; a hole would be
        // lines the old master had taken and not yet handed to its replica.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut holes = 0;
        let mut still_running = 0;
        for e in &running {
            let live = logs.read(e.id, StreamId::MIN, 1000).await.unwrap();
            let numbers: Vec<usize> = live
                .iter()
                .map(|l| l.message.trim_start_matches("line ").parse().unwrap())
                .collect();
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
            if let Some(last) = numbers.last().filter(|&&last| last + 1 < lines) {
                still_running += 1;
                holes += last + 1 - numbers.len();
            }
        }
        assert!(still_running > 0, "executions still run after the failover");
        (outage, seen, holes, still_running)
    };
    let (done, (outage, seen, holes, looked_at)) = tokio::join!(runs, fault);
    cluster.wait_until_ok();
    for e in &done {
        assert_eq!(e.status, ExecutionStatus::Success, "{:?}", e.error_message);
    }
    assert_complete_logs(&*env.store, &done, lines).await;
    eprintln!(
        "redis cluster master killed: the stream answered again after {} ms, with {seen} \
         lines; {} executions x {lines} lines stored whole; {looked_at} live streams looked \
         at after the failover lack {holes} lines",
        outage.as_millis(),
        done.len(),
    );
    env.close().await;
}

/// A Redis Cluster of three masters; while eight executions log, every slot of the master
/// of the first one's stream moves to another master (`redis-cli --cluster reshard`: keys
/// migrate one at a time, clients are answered `ASK` while their slot moves and `MOVED`
/// after). The redirections are followed: no read of the moving stream fails, every
/// execution ends `Success` with its whole log, and the live streams have no hole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_resharding_during_runs_is_followed_not_an_error() {
    let env = TestEnv::new(Backend::Servers).await;
    let cluster = OwnRedisCluster::start(3, 0);
    let logs = RedisLogStream::connect(&cluster.url()).await.unwrap();
    let service = ExecutionsService::new(env.store.clone(), Arc::new(logs.clone()));
    let runner = Runner::new(service.clone(), bifrost_tests::test_config()).unwrap();
    let probe = runner.load_file(PROBE.as_ref()).unwrap();
    let who = user(None);
    let lines = 150;

    let runs = run_all(&runner, &probe, &who, log_slowly(lines));
    let reshard = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let running = running_now(&service).await;
        assert!(
            !running.is_empty(),
            "executions are running when slots move"
        );
        let victim = running[0].id;
        let from = cluster.master_of(&logs.key(victim));
        let to = *cluster
            .masters()
            .iter()
            .find(|&&p| p != from)
            .expect("another master");
        // Reads of the moving stream all along, from this process's cluster client.
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
        let reads = {
            let service = service.clone();
            let who = who.clone();
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0, Vec::new());
                while done_rx.try_recv().is_err() {
                    match service
                        .logs(&who, None, Some(&victim.to_string()), None, Some(1000))
                        .await
                    {
                        Ok(_) => ok += 1,
                        Err(e) => failed.push(e.to_string()),
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                (ok, failed)
            })
        };
        let clock = Instant::now();
        tokio::task::block_in_place(|| cluster.reshard(from, to, 5461));
        let took = clock.elapsed();
        done_tx.send(()).unwrap();
        let (ok, failed) = reads.await.unwrap();
        assert!(failed.is_empty(), "reads while slots moved: {failed:?}");
        assert_eq!(cluster.master_of(&logs.key(victim)), to, "the stream moved");
        (took, ok)
    };
    let (done, (took, reads)) = tokio::join!(runs, reshard);
    for e in &done {
        assert_eq!(e.status, ExecutionStatus::Success, "{:?}", e.error_message);
    }
    assert_complete_logs(&*env.store, &done, lines).await;
    eprintln!(
        "redis cluster resharding: 5,461 slots moved in {} ms under {} executions x {lines} \
         lines; {reads} reads of a moving stream, none failed; every log stored whole",
        took.as_millis(),
        done.len(),
    );
    env.close().await;
}

#[tokio::test]
async fn postgres_restart_during_runs_every_execution_ends_recorded() {
    let env = TestEnv::new(Backend::Servers).await;
    let pg = OwnPostgres::start();
    let store = PostgresStore::connect(&pg.url()).await.unwrap();
    let service = ExecutionsService::new(Arc::new(store.clone()), env.logs.clone());
    let runner = Runner::new(service.clone(), bifrost_tests::test_config()).unwrap();
    let probe = runner.load_file(PROBE.as_ref()).unwrap();
    let who = user(None);
    let lines = 60;

    let half = Call::LogSlowly {
        n: lines as u32 / 2,
        pause_ms: 20,
    };
    let calls = vec![half.clone(), list().limit(1).page(), half];
    let runs = run_all(&runner, &probe, &who, calls);
    let outage = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Every execution is under way when the server stops: Running, in the middle of
        // its first half.
        let running = running_now(&service).await;
        pg.stop();
        let down = Instant::now();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        pg.restart();
        (down.elapsed(), running.len())
    };
    let (done, (outage, running)) = tokio::join!(runs, outage);
    assert_eq!(
        running, EXECUTIONS,
        "every execution was running when the server stopped"
    );
    // Every execution ended with its final status written.
    for e in &done {
        let row = store.get(e.id).await.unwrap();
        assert_eq!(
            row.status,
            ExecutionStatus::Success,
            "{:?}",
            row.error_message
        );
        assert!(row.completed_at.is_some());
    }
    // Log lines are numbered per call; check the count and order of the stored entries.
    for e in &done {
        let stored = store.read_logs(e.id, StreamId::MIN, 1000).await.unwrap();
        assert_eq!(stored.len(), lines);
        assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    }
    // The `list` each made during the outage (after its first 600 ms of lines; the server
    // was down from 400 ms to about 1.9 s) either waited for a connection until the server
    // was back and answered a page of one of the eight, or, on a connection the restart
    // had closed, answered `unavailable`: never an empty page, nor `internal`.
    let (mut waited, mut unavailable) = (0, 0);
    for e in &done {
        let answers = bifrost_tests::answers(e);
        match &answers[1] {
            bifrost_tests::Answer::Err(err) => {
                assert_eq!(err.kind, ErrorKind::Unavailable, "{err:?}");
                unavailable += 1;
            }
            bifrost_tests::Answer::Ok(page) => {
                // The newest of the eight, running or, for a list that got its connection
                // late, already ended.
                let page = page.as_array().expect("a page of executions");
                assert_eq!(page.len(), 1, "{page:?}");
                let id: Uuid = page[0]["execution_id"].as_str().unwrap().parse().unwrap();
                assert!(done.iter().any(|d| d.id == id), "{page:?}");
                waited += 1;
            }
        }
    }
    assert_eq!(waited + unavailable, EXECUTIONS);
    eprintln!(
        "postgres restart: outage {} ms; {} executions all ended Success with {lines} lines each stored; the list during the outage: {waited} waited and answered, {unavailable} unavailable",
        outage.as_millis(),
        done.len()
    );
    store.pool().close().await;
    drop(pg);
    env.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_200_executions_of_1000_lines_each() {
    const RUNS: usize = 200;
    const LINES: usize = 1000;
    let env = TestEnv::new(Backend::Servers).await;
    let runner = Arc::new(
        Runner::new(
            env.service.clone(),
            bifrost_runner::RunnerConfig {
                max_instances: RUNS as u32,
                ..bifrost_tests::test_config()
            },
        )
        .unwrap(),
    );
    let probe = runner.load_file(PROBE.as_ref()).unwrap();
    let clock = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..RUNS {
        let runner = runner.clone();
        let probe = probe.clone();
        tasks.spawn(async move {
            runner
                .run(
                    &probe,
                    RunRequest {
                        workflow_name: "load".into(),
                        input: Input::new(vec![Call::LogMany { n: LINES as u32 }]).to_json(),
                        identity: user(None),
                        form_id: None,
                        parent_execution_id: None,
                        session_id: None,
                    },
                )
                .await
                .expect("recorded")
        });
    }
    let done: Vec<Execution> = tasks.join_all().await;
    let took = clock.elapsed();
    assert_eq!(done.len(), RUNS);
    let mut found = 0;
    for e in &done {
        assert_eq!(e.status, ExecutionStatus::Success, "{:?}", e.error_message);
        let stored = env
            .store
            .read_logs(e.id, StreamId::MIN, 1000)
            .await
            .unwrap();
        assert_eq!(stored.len(), LINES);
        for (i, line) in stored.iter().enumerate() {
            assert_eq!(line.message, format!("line {i}"));
        }
        assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
        let after = stored.last().unwrap().id.successor().unwrap();
        assert!(
            env.store
                .read_logs(e.id, after, 10)
                .await
                .unwrap()
                .is_empty(),
            "nothing twice"
        );
        found += stored.len();
    }
    let unfinished = env
        .service
        .list(
            &admin(None),
            &ListFilter {
                status: Some(ExecutionStatus::Running),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(unfinished.is_empty());
    eprintln!(
        "load: {RUNS} executions x {LINES} lines: {} written, {found} found in PostgreSQL, {} ms, {:.0} lines/s",
        RUNS * LINES,
        took.as_millis(),
        found as f64 / took.as_secs_f64()
    );
    env.close().await;
}

/// The periodic sweep of an embedding runner finds an execution left `Running` with its
/// lease run out (as a killed runner leaves it) and marks it `Stuck`, with its live logs
/// stored.
async fn periodic_sweep_marks_abandoned_executions_stuck(backend: Backend) {
    use bifrost_core::model::LogLevel;
    let env = TestEnv::new(backend).await;
    let runner = Arc::new(Runner::new(env.service.clone(), bifrost_tests::test_config()).unwrap());
    let who = user(None);
    let started = chrono::Utc::now() - chrono::TimeDelta::minutes(10);
    // Running, with a lease that has run out (its deadline is still ahead), and a live log.
    let abandoned = env
        .seed_running(
            "abandoned",
            started,
            started + chrono::TimeDelta::minutes(1),
        )
        .await;
    let live = bifrost_tests::append_lines(
        &*env.logs,
        abandoned,
        LogLevel::Info,
        ["before the runner died".to_owned()],
    )
    .await;
    // Another, whose lease is still running, is left alone.
    let current = env
        .seed(&bifrost_tests::Seed {
            by: who.user_id,
            org: None,
            workflow: "current".into(),
            status: ExecutionStatus::Running,
            started_at: chrono::Utc::now(),
        })
        .await;

    let sweeper = runner.spawn_sweeper(Duration::from_millis(100));
    let mut status = ExecutionStatus::Running;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = env.store.get(abandoned).await.unwrap().status;
        if status == ExecutionStatus::Stuck {
            break;
        }
    }
    sweeper.abort();
    assert_eq!(status, ExecutionStatus::Stuck);
    assert_eq!(
        env.store
            .read_logs(abandoned, StreamId::MIN, 10)
            .await
            .unwrap(),
        live
    );
    assert_eq!(
        env.store.get(current).await.unwrap().status,
        ExecutionStatus::Running
    );
    env.close().await;
}

/// A store slow to record how runs end: the write of a run's end with its log waits
/// `delay` first, as a store busy with a long log does. Every other write, the reads, the
/// leases and the log archive are the store's own. (Only the end: a row written later
/// than its first lease runs out, which a sweep may rightly take for a runner gone away
/// before its heartbeat renews it, is another case than this test's.)
struct SlowRecorder {
    inner: Arc<dyn ExecutionStore>,
    delay: Duration,
}

#[async_trait::async_trait]
impl RunRecorder for SlowRecorder {
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError> {
        self.inner.create(new).await
    }
    async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError> {
        self.inner.mark_running(id, start).await
    }
    async fn create_running(&self, new: &NewExecution, start: &RunStart) -> Result<(), StoreError> {
        self.inner.create_running(new, start).await
    }
    async fn set_variable(&self, id: Uuid, name: &str, value: &Value) -> Result<(), StoreError> {
        self.inner.set_variable(id, name, value).await
    }
    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError> {
        tokio::time::sleep(self.delay).await;
        self.inner.finish_with_logs(id, outcome, entries).await
    }
}

/// A live runner's execution is never swept, even long past its deadline: while the
/// runner is still writing its end (here held back 5 s, as a long log's store can take),
/// its heartbeat keeps the lease, and sweeps running all the while leave it alone. (The
/// sweep used to go by the deadline and mark it `Stuck` from under its runner.)
async fn a_live_runners_execution_is_never_swept(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let service = ExecutionsService::new(env.store.clone(), env.logs.clone()).with_recorder(
        Arc::new(SlowRecorder {
            inner: env.store.clone(),
            delay: Duration::from_secs(5),
        }),
    );
    let runner = Runner::new(
        service,
        RunnerConfig {
            deadline: Duration::from_secs(1),
            store_retry: Duration::ZERO,
            lease: Duration::from_secs(1),
            ..bifrost_tests::test_config()
        },
    )
    .unwrap();
    let probe = runner.load_file(PROBE.as_ref()).unwrap();
    let run = runner.run(
        &probe,
        RunRequest {
            workflow_name: "probe".into(),
            input: Input::new(vec![Call::log("INFO", "then spin"), Call::Spin]).to_json(),
            identity: user(None),
            form_id: None,
            parent_execution_id: None,
            session_id: None,
        },
    );
    // The run ends at its 1 s deadline and its end is written 5 s later: sweeps every
    // 200 ms for 12 s cover all of it.
    let sweeps = async {
        let mut swept = Vec::new();
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            swept.extend(
                env.service
                    .sweep_stuck(Duration::from_secs(1))
                    .await
                    .unwrap(),
            );
        }
        swept
    };
    let (done, swept) = tokio::join!(run, sweeps);
    let done = done.unwrap();
    assert_eq!(swept, Vec::<Uuid>::new(), "nothing was swept");
    assert_eq!(done.status, ExecutionStatus::Timeout);
    let row = env.store.get(done.id).await.unwrap();
    assert_eq!(row.status, ExecutionStatus::Timeout);
    assert_eq!(
        env.store
            .read_logs(done.id, StreamId::MIN, 10)
            .await
            .unwrap()[0]
            .message,
        "then spin"
    );
    env.close().await;
}

bifrost_tests::on_both_backends!(
    periodic_sweep_marks_abandoned_executions_stuck,
    a_live_runners_execution_is_never_swept,
);
