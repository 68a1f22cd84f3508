//! `get_current_logs` through the guest: paging with no gap or duplicate, the same entries
//! after the move to PostgreSQL, metadata, no execution context, and Redis gone.

use std::sync::Arc;

use bifrost_core::error::StoreError;
use bifrost_core::model::{ExecutionStatus, LogEntry, Outcome, StreamId};
use bifrost_core::query::LogRange;
use bifrost_core::store::{ExecutionStore, LogArchive};
use bifrost_core::{ApiError, ExecutionsService};
use bifrost_redis::RedisLogStream;
use bifrost_tests::protocol::Input;
use bifrost_tests::{
    Answer, Backend, Call, ErrorKind, Harness, PROBE, PYTHON_PROBE, admin, logs,
    run_outside_execution, user,
};
use serde_json::{Value, json};

/// A `Running` execution of a new regular user, as a runner's row would be.
async fn running_execution(h: &Harness, workflow: &str) -> uuid::Uuid {
    h.env
        .seed(&bifrost_tests::Seed {
            by: user(None).user_id,
            org: None,
            workflow: workflow.into(),
            status: bifrost_core::model::ExecutionStatus::Running,
            started_at: chrono::Utc::now(),
        })
        .await
}

fn entries(answer: &Answer) -> Vec<Value> {
    answer.ok().as_array().unwrap().clone()
}

fn entry_ids(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn reader_pages_through_every_line_in_order_live_and_after_the_move(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = user(None);
    let (done, a) = h
        .probe(
            &who,
            vec![
                Call::LogMany { n: 250 },
                logs().count(7).all(),
                logs().page(),
                logs().count(5000).page(),
            ],
        )
        .await;
    let live = entries(&a[1]);
    assert_eq!(live.len(), 250);
    for (i, e) in live.iter().enumerate() {
        assert_eq!(
            e["message"],
            json!(format!("line {i}")),
            "no gap, no duplicate, in order"
        );
        assert_eq!(e["metadata"], json!({"i": i}));
        assert_eq!(e["level"], json!("INFO"));
        assert_eq!(e["execution_id"], json!(done.id.to_string()));
    }
    let ids = entry_ids(&live);
    let parsed: Vec<StreamId> = ids.iter().map(|s| s.parse().unwrap()).collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]), "ids increase");
    assert_eq!(entries(&a[2]).len(), 100, "default count");
    assert_eq!(
        entries(&a[3]).len(),
        250,
        "count above the cap is lowered, not refused"
    );

    // After the run the stream has moved to PostgreSQL: the same entries, same ids, same
    // order, through the same call with an explicit id.
    let id = done.id.to_string();
    let middle = &ids[123];
    let (_, b) = h
        .probe(
            &who,
            vec![
                logs().of(&id).count(7).all(),
                logs().of(&id).start(middle).count(3).page(),
                logs().of(&id).start("0").count(1).page(),
            ],
        )
        .await;
    let moved = entries(&b[0]);
    assert_eq!(moved.len(), 250);
    assert_eq!(moved, live);
    assert_eq!(
        entry_ids(&entries(&b[1])),
        ids[123..126].to_vec(),
        "start is inclusive"
    );
    assert_eq!(entry_ids(&entries(&b[2])), ids[..1].to_vec());
    let stored = h
        .env
        .store
        .read_logs(done.id, StreamId::MIN, 1000)
        .await
        .unwrap();
    assert_eq!(stored.len(), 250);
    h.close().await;
}

/// Entries in one page of the readers of these tests.
const PAGE: u32 = 37;

/// The store's log archive, letting the move store one batch only when the test opens the
/// gate for it, and telling the test when it has: the test reads between the batches.
struct GatedArchive {
    inner: Arc<dyn ExecutionStore>,
    open: tokio::sync::Semaphore,
    stored: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl LogArchive for GatedArchive {
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        self.open.acquire().await.expect("gate open").forget();
        let done = self.inner.insert_logs(entries).await;
        self.stored.add_permits(1);
        done
    }
}

/// Reads up to `pages` pages of `PAGE` entries of a running execution's log from `start`
/// on, appending their messages to `seen`; false once a page is empty.
async fn read_pages(
    service: &ExecutionsService,
    id: uuid::Uuid,
    start: &mut StreamId,
    seen: &mut Vec<String>,
    pages: usize,
) -> bool {
    for _ in 0..pages {
        let page = service
            .read_logs(
                id,
                ExecutionStatus::Running,
                LogRange {
                    start: *start,
                    count: PAGE,
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else {
            return false;
        };
        *start = last.id.successor().unwrap();
        seen.extend(page.into_iter().map(|e| e.message));
    }
    true
}

/// A reader paging through a running execution's log while the runner moves the stream
/// into the store, batch by batch, then deletes it: it reads pages before the move, between
/// its batches (from the stream, which still holds everything), and after the delete (from
/// the store), and sees every entry once, in order.
async fn reads_during_the_move_see_every_entry_once(backend: Backend) {
    const LINES: usize = 12_000; // three batches of the move: 5,000, 5,000 and 2,000
    let h = Harness::new(backend).await;
    let id = running_execution(&h, "moving").await;
    for chunk in 0..LINES / 500 {
        bifrost_tests::append_lines(
            &*h.env.logs,
            id,
            bifrost_core::model::LogLevel::Debug,
            (chunk * 500..(chunk + 1) * 500).map(|i| format!("m{i}")),
        )
        .await;
    }
    let archive = Arc::new(GatedArchive {
        inner: h.env.store.clone(),
        open: tokio::sync::Semaphore::new(0),
        stored: tokio::sync::Semaphore::new(0),
    });
    let service = h.env.service.clone().with_log_archive(archive.clone());
    let mover = tokio::spawn({
        let service = service.clone();
        async move { service.move_logs(id).await }
    });

    let mut seen: Vec<String> = Vec::new();
    let mut start = StreamId::MIN;
    let in_stream = async || {
        !h.env
            .logs
            .read(id, StreamId::MIN, 1)
            .await
            .unwrap()
            .is_empty()
    };
    let in_store = async || {
        h.env
            .store
            .read_logs(id, StreamId::MIN, 100_000)
            .await
            .unwrap()
            .len()
    };

    // Before the move; then after each batch is stored, the stream still whole.
    assert!(read_pages(&service, id, &mut start, &mut seen, 40).await);
    for batch in 1..=3 {
        archive.open.add_permits(1);
        archive.stored.acquire().await.unwrap().forget();
        assert_eq!(
            in_store().await,
            (batch * 5000).min(LINES),
            "batch {batch} stored"
        );
        if batch < 3 {
            assert!(
                in_stream().await,
                "the stream is deleted only after the last batch"
            );
            let before = seen.len();
            assert!(read_pages(&service, id, &mut start, &mut seen, 40).await);
            assert_eq!(
                seen.len(),
                before + 40 * PAGE as usize,
                "read between batches"
            );
        }
    }
    assert_eq!(mover.await.unwrap().unwrap(), LINES);
    assert!(!in_stream().await, "the stream is deleted after the move");
    // The rest from the store.
    let before = seen.len();
    while read_pages(&service, id, &mut start, &mut seen, 100).await {}
    assert!(seen.len() > before, "pages read after the delete");
    let want: Vec<String> = (0..LINES).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, want);
    h.close().await;
}

/// A runner stores the log and the final status while the live stream may still lack the
/// last lines (it brings the stream up to date at the same time): a reader of the finished
/// execution, host-side or a guest, reads the store, never the lagging stream.
async fn a_finished_execution_is_read_from_the_store_while_the_stream_lags(backend: Backend) {
    let h = Harness::new(backend).await;
    let id = running_execution(&h, "lagging").await;
    let all = bifrost_tests::append_lines(
        &*h.env.logs,
        id,
        bifrost_core::model::LogLevel::Info,
        (0..10).map(|i| format!("l{i}")),
    )
    .await;
    // The stream holds the first four; the store gets all ten with the final status.
    h.env.logs.delete(id).await.unwrap();
    h.env.logs.append(&all[..4]).await.unwrap();
    h.env
        .store
        .finish_with_logs(
            id,
            &Outcome {
                status: ExecutionStatus::Success,
                result: Some(json!(true)),
                result_type: Some("json".into()),
                error_message: None,
                duration_ms: 3,
                completed_at: chrono::Utc::now(),
                peak_memory_bytes: 1 << 16,
                cpu_total_seconds: 0.001,
                log_lines_dropped: 0,
            },
            &all,
        )
        .await
        .unwrap();
    let whole = LogRange {
        start: StreamId::MIN,
        count: 1000,
    };
    let svc = &h.env.service;
    assert_eq!(
        svc.read_logs(id, ExecutionStatus::Success, whole)
            .await
            .unwrap(),
        all
    );
    // Seen as running (a moment earlier), the stream is what there was to read.
    assert_eq!(
        svc.read_logs(id, ExecutionStatus::Running, whole)
            .await
            .unwrap(),
        all[..4]
    );
    let (_, a) = h
        .probe(&admin(None), vec![logs().of(id).count(1000).page()])
        .await;
    let read = entries(&a[0]);
    let messages: Vec<&str> = read
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        (0..10).map(|i| format!("l{i}")).collect::<Vec<_>>()
    );
    h.close().await;
}

/// A stream entry with U+0000, written by another writer than this host (which never
/// writes one), is moved with U+FFFD in its place instead of failing the move.
async fn a_foreign_entry_with_nul_is_moved_with_a_replacement_character(backend: Backend) {
    let h = Harness::new(backend).await;
    let id = running_execution(&h, "foreign").await;
    bifrost_tests::append_lines(
        &*h.env.logs,
        id,
        bifrost_core::model::LogLevel::Info,
        ["a\0b".to_owned(), "plain".to_owned()],
    )
    .await;
    assert_eq!(h.env.service.move_logs(id).await.unwrap(), 2);
    let stored = h
        .env
        .service
        .read_logs(
            id,
            ExecutionStatus::Running,
            LogRange {
                start: StreamId::MIN,
                count: 10,
            },
        )
        .await
        .unwrap();
    let messages: Vec<&str> = stored.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["a\u{FFFD}b", "plain"]);
    h.close().await;
}

async fn metadata_is_kept_and_bad_arguments_are_refused(backend: Backend) {
    let h = Harness::new(backend).await;
    let (done, a) = h
        .probe(
            &user(None),
            vec![
                Call::log_with(
                    "WARNING",
                    "with metadata",
                    json!({"order": 17, "tags": ["a", "b"]}),
                ),
                Call::log("CRITICAL", "no metadata"),
                Call::log_with("INFO", "not an object", json!([1, 2])),
                logs().start("yesterday").page(),
                logs().count(0).page(),
                logs().start("99999999999999-0").page(),
                logs().page(),
            ],
        )
        .await;
    a[0].ok();
    a[1].ok();
    assert_eq!(a[2].kind(), ErrorKind::InvalidArgument);
    assert_eq!(a[3].err().parameter.as_deref(), Some("start"));
    assert_eq!(a[4].err().parameter.as_deref(), Some("count"));
    assert_eq!(
        entries(&a[5]),
        Vec::<Value>::new(),
        "a start past the end reads nothing"
    );
    let own = entries(&a[6]);
    assert_eq!(own.len(), 2, "{own:?}");
    assert_eq!(own[0]["metadata"], json!({"order": 17, "tags": ["a", "b"]}));
    assert_eq!(own[0]["level"], json!("WARNING"));
    assert_eq!(own[1]["metadata"], json!(null));
    assert_eq!(own[1]["level"], json!("CRITICAL"));
    // As stored in Redis, Bifrost's layout: upper-case level, metadata `{}` when none.
    let stored = done.logs.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].metadata, None);
    h.close().await;
}

/// The Redis-only tests, on one server and on a cluster.
mod redis_only {
    use bifrost_tests::Backend;

    #[tokio::test]
    async fn entries_use_bifrosts_layout_on_a_server() {
        super::redis_entries_use_bifrosts_layout(Backend::Servers).await
    }
    #[tokio::test]
    async fn entries_use_bifrosts_layout_on_a_cluster() {
        super::redis_entries_use_bifrosts_layout(Backend::Cluster).await
    }
    #[tokio::test]
    async fn waits_on_many_streams_at_once_each_end_on_their_own_on_a_server() {
        super::redis_waits_on_many_streams_at_once_each_end_on_their_own(Backend::Servers).await
    }
    #[tokio::test]
    async fn waits_on_many_streams_at_once_each_end_on_their_own_on_a_cluster() {
        super::redis_waits_on_many_streams_at_once_each_end_on_their_own(Backend::Cluster).await
    }
}

async fn redis_entries_use_bifrosts_layout(backend: Backend) {
    let h = Harness::new(backend).await;
    let id = uuid::Uuid::new_v4();
    bifrost_tests::append_lines(
        &*h.env.logs,
        id,
        bifrost_core::model::LogLevel::Warning,
        ["hello".to_owned()],
    )
    .await;
    let url = h.env.redis_url.clone().expect("a Redis backend");
    let mut conn = bifrost_redis::RedisConnection::open(&url).await.unwrap();
    let key = h.env.redis().key(id);
    let raw: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
    let fields: std::collections::HashMap<_, _> = raw[0].1.iter().cloned().collect();
    assert_eq!(fields["execution_id"], id.to_string());
    assert_eq!(fields["level"], "WARNING");
    assert_eq!(fields["message"], "hello");
    assert_eq!(fields["metadata"], "{}");
    assert!(chrono::DateTime::parse_from_rfc3339(&fields["timestamp"]).is_ok());
    h.close().await;
}

async fn outside_an_execution_the_current_execution_is_an_error(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = user(None);
    let (mine, _) = h.probe(&who, vec![Call::log("INFO", "x")]).await;
    let calls = vec![
        logs().page(),
        logs().all(),
        Call::set_variable("k", json!(1)),
        Call::Context,
        logs().of(mine.id.to_string()).page(),
        Call::log("INFO", "goes to the host's own log"),
    ];
    // The Rust probe and the Python one (the `bifrost` package) answer alike.
    for probe in [PROBE, PYTHON_PROBE] {
        let out = run_outside_execution(
            h.env.service.clone(),
            who.clone(),
            probe,
            &Input::new(calls.clone()).to_json().to_string(),
        )
        .await
        .unwrap_or_else(|e| panic!("{probe}: {e}"));
        let a: Vec<Answer> = serde_json::from_str(&out).unwrap();
        assert_eq!(a[0].kind(), ErrorKind::NoExecutionContext, "{probe}");
        assert_eq!(a[1].kind(), ErrorKind::NoExecutionContext, "{probe}");
        assert_eq!(a[2].kind(), ErrorKind::NoExecutionContext, "{probe}");
        assert_eq!(a[3].ok()["execution_id"], json!(null), "{probe}");
        assert_eq!(
            entries(&a[4]).len(),
            1,
            "{probe}: an explicit id still works"
        );
        a[5].ok();
    }
    h.close().await;
}

#[tokio::test]
async fn redis_stopped_is_a_typed_error_not_an_empty_list() {
    let backend = Backend::Servers;
    let h = Harness::new(backend).await;
    let mut redis = bifrost_tests::servers::OwnRedis::start();
    let logs = RedisLogStream::connect(&redis.url()).await.unwrap();
    let service = ExecutionsService::new(h.env.store.clone(), Arc::new(logs.clone()));
    let who = user(None);
    let id = h
        .env
        .seed(&bifrost_tests::Seed {
            by: who.user_id,
            org: None,
            workflow: "w".into(),
            status: bifrost_core::model::ExecutionStatus::Running,
            started_at: chrono::Utc::now(),
        })
        .await;
    bifrost_tests::append_lines(
        &logs,
        id,
        bifrost_core::model::LogLevel::Info,
        ["before the outage".to_owned()],
    )
    .await;
    let before = service
        .logs(&who, None, Some(&id.to_string()), None, None)
        .await
        .unwrap();
    assert_eq!(before.len(), 1);

    redis.stop();

    let during = service
        .logs(&who, None, Some(&id.to_string()), None, None)
        .await;
    assert!(
        matches!(during, Err(ApiError::Unavailable(_))),
        "{during:?}"
    );
    // And through the guest, in Rust and in Python.
    let input = Input::new(vec![bifrost_tests::logs().of(id).page()])
        .to_json()
        .to_string();
    for probe in [PROBE, PYTHON_PROBE] {
        let out = run_outside_execution(service.clone(), who.clone(), probe, &input)
            .await
            .unwrap_or_else(|e| panic!("{probe}: {e}"));
        let a: Vec<Answer> = serde_json::from_str(&out).unwrap();
        assert_eq!(a[0].kind(), ErrorKind::Unavailable, "{probe}: {:?}", a[0]);
    }
    h.close().await;
}

/// The stream itself, as every backend keeps it (Redis, the SQLite file): ids strictly
/// after the last are taken, others refused; a read starts at its id inclusive and
/// stops at its count; `wait` sees an entry after the given id; delete empties it.
async fn the_stream_keeps_redis_semantics(backend: Backend) {
    use bifrost_core::logs::Wait;
    use std::time::Duration;
    let env = bifrost_tests::TestEnv::new(backend).await;
    let id = uuid::Uuid::new_v4();
    let level = bifrost_core::model::LogLevel::Info;
    let written =
        bifrost_tests::append_lines(&*env.logs, id, level, (0..5).map(|i| format!("line {i}")))
            .await;
    assert_eq!(env.logs.last_id(id).await.unwrap(), Some(written[4].id));
    // An entry that is not after the last id is refused.
    let mut again = written[4].clone();
    again.message = "again".into();
    assert!(env.logs.append(&[again]).await.is_err());
    assert_eq!(env.logs.last_id(id).await.unwrap(), Some(written[4].id));
    let mut later = written[4].clone();
    later.id = written[4].id.successor().unwrap().successor().unwrap();
    // Inclusive start, count.
    let read = env.logs.read(id, written[1].id, 2).await.unwrap();
    assert_eq!(read, written[1..3].to_vec());
    assert!(env.logs.read(id, later.id, 10).await.unwrap().is_empty());
    // Wait: at once when an entry after the id is there; Redis blocks until one comes.
    let ready = env
        .logs
        .wait(id, Some(written[3].id), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(ready, Wait::Ready | Wait::Unsupported),
        "{ready:?}"
    );
    if backend != Backend::Embedded {
        let last = written[4].id;
        let timed_out = env
            .logs
            .wait(id, Some(last), Duration::from_millis(100))
            .await;
        assert_eq!(timed_out.unwrap(), Wait::TimedOut);
        let logs = env.logs.clone();
        let waiter =
            tokio::spawn(async move { logs.wait(id, Some(last), Duration::from_secs(10)).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        env.logs.append(&[later.clone()]).await.unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), Wait::Ready);
    }
    env.logs.delete(id).await.unwrap();
    assert_eq!(env.logs.last_id(id).await.unwrap(), None);
    assert!(
        env.logs
            .read(id, StreamId::MIN, 10)
            .await
            .unwrap()
            .is_empty()
    );
    env.close().await;
}

/// The tail of a log (a run page's last lines): the last `count` entries, oldest first,
/// from the live stream while the run is live and from the store once it has ended, the
/// same entries either way; fewer when the log is shorter, none for an empty one.
async fn the_tail_is_the_last_entries_live_and_stored(backend: Backend) {
    let h = Harness::new(backend).await;
    let who = user(None);
    let (done, _) = h.probe(&who, vec![Call::LogMany { n: 250 }]).await;
    let all = h
        .env
        .store
        .read_logs(done.id, StreamId::MIN, 1000)
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    let service = &h.env.service;
    let stored = service
        .tail_logs(done.id, ExecutionStatus::Success, 7)
        .await
        .unwrap();
    assert_eq!(stored, all[243..].to_vec());
    assert_eq!(
        service
            .tail_logs(done.id, ExecutionStatus::Success, 1000)
            .await
            .unwrap(),
        all
    );
    assert!(
        service
            .tail_logs(done.id, ExecutionStatus::Success, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Live: the same lines in a stream of a running execution.
    let live = running_execution(&h, "tail").await;
    let level = bifrost_core::model::LogLevel::Info;
    let written = bifrost_tests::append_lines(
        &*h.env.logs,
        live,
        level,
        (0..40).map(|i| format!("line {i}")),
    )
    .await;
    assert_eq!(
        h.env.logs.read_last(live, 5).await.unwrap(),
        written[35..].to_vec()
    );
    assert_eq!(
        service
            .tail_logs(live, ExecutionStatus::Running, 5)
            .await
            .unwrap(),
        written[35..].to_vec()
    );
    assert_eq!(h.env.logs.read_last(live, 100).await.unwrap(), written);
    assert!(
        h.env
            .logs
            .read_last(uuid::Uuid::new_v4(), 5)
            .await
            .unwrap()
            .is_empty()
    );
    h.env.logs.delete(live).await.unwrap();
    h.close().await;
}

bifrost_tests::on_all_backends!(
    the_tail_is_the_last_entries_live_and_stored,
    the_stream_keeps_redis_semantics,
    reader_pages_through_every_line_in_order_live_and_after_the_move,
    reads_during_the_move_see_every_entry_once,
    a_finished_execution_is_read_from_the_store_while_the_stream_lags,
    a_foreign_entry_with_nul_is_moved_with_a_replacement_character,
    metadata_is_kept_and_bad_arguments_are_refused,
    outside_an_execution_the_current_execution_is_an_error,
);

/// Many waits at once in one process, each on a stream of its own (a thousand followers of
/// the event stream): each ends on its own stream's news, whatever the others wait on.
/// Waits registered while a read of other streams is in flight are covered at once; a
/// wait after the last id is not woken by the entries before it.
async fn redis_waits_on_many_streams_at_once_each_end_on_their_own(backend: Backend) {
    use bifrost_core::logs::Wait;
    use std::time::Duration;
    let env = bifrost_tests::TestEnv::new(backend).await;
    assert_eq!(env.redis().is_cluster(), backend == Backend::Cluster);
    let level = bifrost_core::model::LogLevel::Info;
    let ids: Vec<uuid::Uuid> = (0..200).map(|_| uuid::Uuid::new_v4()).collect();
    // Half the streams have a line already: their waiters wait after it.
    let mut last = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        last.push(if i % 2 == 0 {
            let w = bifrost_tests::append_lines(&*env.logs, *id, level, ["first".to_owned()]).await;
            Some(w[0].id)
        } else {
            None
        });
    }
    let mut waiters = Vec::new();
    for (id, after) in ids.iter().zip(&last) {
        let logs = env.logs.clone();
        let (id, after) = (*id, *after);
        waiters.push(tokio::spawn(async move {
            logs.wait(id, after, Duration::from_secs(20)).await
        }));
        // Registered at different times: some while a read of the others is in flight.
        if waiters.len() % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // News on every third stream only.
    for id in ids.iter().step_by(3) {
        bifrost_tests::append_lines(&*env.logs, *id, level, ["news".to_owned()]).await;
    }
    // Those end now; the rest wait out their 20 s, so look at the first ones with a bound
    // well inside it (a guard against a hang, not a measure of speed).
    for (i, waiter) in waiters.into_iter().enumerate() {
        if i % 3 == 0 {
            let answer = tokio::time::timeout(Duration::from_secs(15), waiter)
                .await
                .unwrap_or_else(|_| panic!("the wait on stream {i} missed its news"))
                .unwrap()
                .unwrap();
            assert_eq!(answer, Wait::Ready, "stream {i}");
        } else {
            waiter.abort();
        }
    }
    // A wait after the last id with no news times out; one after an earlier id does not.
    let quiet = ids[1]; // odd: no first line; not a multiple of 3: no news
    assert_eq!(
        env.logs
            .wait(quiet, None, Duration::from_millis(300))
            .await
            .unwrap(),
        Wait::TimedOut
    );
    let newsy = ids[0];
    let lines = env.logs.read(newsy, StreamId::MIN, 10).await.unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        env.logs
            .wait(newsy, Some(lines[1].id), Duration::from_millis(300))
            .await
            .unwrap(),
        Wait::TimedOut
    );
    assert_eq!(
        env.logs
            .wait(newsy, Some(lines[0].id), Duration::from_secs(5))
            .await
            .unwrap(),
        Wait::Ready
    );
    env.close().await;
}
