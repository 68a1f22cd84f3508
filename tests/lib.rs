//! Shared set-up of the integration tests: a database and a Redis key prefix of the test's
//! own, on the real servers, removed again at the end.
//!
//! Servers: `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) and, for the tests on a Redis Cluster,
//! `REDIS_CLUSTER_URL` (`redis+cluster://host:port,...`, no default: `scripts/test` starts a
//! cluster of its own). A missing server fails the test with a message naming it; nothing
//! is skipped.

use std::sync::Arc;

use bifrost_core::logs::LogStream;
use bifrost_core::store::ExecutionStore;
use bifrost_core::{ExecutionsService, Identity};
use bifrost_redis::RedisLogStream;
use bifrost_sql::{PostgresStore, SqliteStore};
pub use probe_protocol::{self as protocol, Answer, Call, ErrorKind, list, logs};
use sqlx::Connection;
use uuid::Uuid;

pub use bifrost_artifacts::*;

pub mod browser;
pub mod compose;
pub mod servers;

/// The PostgreSQL server the tests use.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The Redis server the tests use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The Redis Cluster the tests on [`Backend::Cluster`] use: `REDIS_CLUSTER_URL`.
pub fn redis_cluster_url() -> String {
    std::env::var("REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "a Redis Cluster is required at REDIS_CLUSTER_URL (redis+cluster://host:port,...): \
             scripts/test starts one from the installed redis-server"
        )
    })
}

/// PgBouncer in transaction mode in front of the tests' PostgreSQL, for the tests on
/// [`Backend::Pooler`]: `BIFROST_TEST_POOLER_URL` (`scripts/test` starts one).
pub fn pooler_url() -> String {
    std::env::var("BIFROST_TEST_POOLER_URL").unwrap_or_else(|_| {
        panic!(
            "PgBouncer in transaction mode is required at BIFROST_TEST_POOLER_URL \
             (postgres://user@host:port/db, any database name passed through to the \
             tests' server): scripts/test starts one from the installed pgbouncer"
        )
    })
}

/// Which backends a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL and Redis, the servers.
    Servers,
    /// PostgreSQL and a Redis Cluster ([`redis_cluster_url`]).
    Cluster,
    /// PostgreSQL through PgBouncer in transaction mode ([`pooler_url`]) for the runner
    /// processes and [`TestEnv::backends`] (with `BIFROST_DB_POOLER=transaction` and the
    /// server's own URL as `BIFROST_DB_DIRECT_URL`), and Redis; the test's own checks
    /// ([`TestEnv::store`]) go to the server directly.
    Pooler,
    /// The embedded default: one SQLite file holding the store and the live log streams.
    Embedded,
}

/// Runs a test body `async fn NAME(backend: Backend)` once per backend, as the tests
/// `NAME::postgres_redis` and `NAME::embedded`, so that both backends pass the same test.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn postgres_redis() {
                super::$name($crate::Backend::Servers).await
            }
            #[tokio::test]
            async fn embedded() {
                super::$name($crate::Backend::Embedded).await
            }
        }
    )*};
}

/// [`on_both_backends!`], and once more on PostgreSQL and a Redis Cluster, as
/// `NAME::postgres_redis_cluster`: for the tests of the log stream itself.
#[macro_export]
macro_rules! on_all_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn postgres_redis() {
                super::$name($crate::Backend::Servers).await
            }
            #[tokio::test]
            async fn postgres_redis_cluster() {
                super::$name($crate::Backend::Cluster).await
            }
            #[tokio::test]
            async fn embedded() {
                super::$name($crate::Backend::Embedded).await
            }
        }
    )*};
}

enum Owned {
    Postgres {
        database: String,
        store: PostgresStore,
        redis_url: String,
    },
    Sqlite {
        dir: std::path::PathBuf,
        store: SqliteStore,
    },
}

/// One test's backends: its own database and Redis key prefix, or its own SQLite file (which
/// holds the live log streams too).
pub struct TestEnv {
    /// Which backends.
    pub backend: Backend,
    /// The store.
    pub store: Arc<dyn ExecutionStore>,
    /// The log stream.
    pub logs: Arc<dyn LogStream>,
    /// Both, as the host uses them.
    pub service: ExecutionsService,
    /// `DATABASE_URL` of the test's store, for the CLI (on [`Backend::Pooler`], the
    /// pooler's).
    pub database_url: String,
    /// On [`Backend::Pooler`], the URL of the test's database on the server itself.
    pub direct_database_url: Option<String>,
    /// `REDIS_URL` for the CLI; `None` on the embedded backend.
    pub redis_url: Option<String>,
    /// The test's Redis key prefix.
    pub prefix: String,
    redis: Option<RedisLogStream>,
    /// `None` once removed: by [`TestEnv::close`], or by `Drop` after a test that panicked.
    owned: Option<Owned>,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .expect("DATABASE_URL has a database name");
    format!("{base}/{name}")
}

/// Creates an empty PostgreSQL database of its own on the tests' server; returns its name
/// and URL. [`drop_postgres_database`] removes it.
pub async fn empty_postgres_database() -> (String, String) {
    let admin_url = database_url();
    let database = format!("bifrost_test_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required at DATABASE_URL={admin_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    admin.close().await.ok();
    let url = with_database(&admin_url, &database);
    (database, url)
}

/// Drops a database made by [`empty_postgres_database`], terminating its connections.
pub async fn drop_postgres_database(database: &str) {
    let mut admin = sqlx::PgConnection::connect(&database_url())
        .await
        .expect("connect to drop the test database");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop the test database");
}

impl TestEnv {
    /// A fresh store (migrated) and log stream on `backend`.
    pub async fn new(backend: Backend) -> TestEnv {
        let prefix = format!("bifrost-test:{}:logs:", Uuid::new_v4().simple());
        match backend {
            Backend::Servers | Backend::Cluster | Backend::Pooler => {
                let (database, database_url) = empty_postgres_database().await;
                let store = PostgresStore::connect(&database_url)
                    .await
                    .expect("connect to the test database and migrate");
                let url = if backend == Backend::Cluster {
                    redis_cluster_url()
                } else {
                    redis_url()
                };
                let logs = RedisLogStream::connect_with_prefix(&url, &prefix)
                    .await
                    .unwrap_or_else(|e| panic!("Redis is required at REDIS_URL={url}: {e}"));
                let store_dyn: Arc<dyn ExecutionStore> = Arc::new(store.clone());
                let logs_dyn: Arc<dyn LogStream> = Arc::new(logs.clone());
                TestEnv {
                    backend,
                    service: ExecutionsService::new(store_dyn.clone(), logs_dyn.clone()),
                    store: store_dyn,
                    logs: logs_dyn,
                    database_url: if backend == Backend::Pooler {
                        with_database(&pooler_url(), &database)
                    } else {
                        database_url.clone()
                    },
                    direct_database_url: (backend == Backend::Pooler).then_some(database_url),
                    redis_url: Some(url.clone()),
                    prefix,
                    redis: Some(logs),
                    owned: Some(Owned::Postgres {
                        database,
                        store,
                        redis_url: url,
                    }),
                }
            }
            Backend::Embedded => {
                let dir =
                    std::env::temp_dir().join(format!("bifrost-test-{}", Uuid::new_v4().simple()));
                let path = dir.join("bifrost.db");
                let store = SqliteStore::open_file(&path)
                    .await
                    .expect("open the SQLite store");
                let store_dyn: Arc<dyn ExecutionStore> = Arc::new(store.clone());
                let logs_dyn: Arc<dyn LogStream> = Arc::new(store.log_stream());
                TestEnv {
                    backend,
                    service: ExecutionsService::new(store_dyn.clone(), logs_dyn.clone()),
                    store: store_dyn,
                    logs: logs_dyn,
                    database_url: format!("sqlite://{}", path.display()),
                    direct_database_url: None,
                    redis_url: None,
                    prefix,
                    redis: None,
                    owned: Some(Owned::Sqlite { dir, store }),
                }
            }
        }
    }

    /// The `sequence` numbers of an execution's stored log lines, in stream id order: what
    /// the stores number lines with, which the executions API does not show.
    pub async fn log_sequences(&self, id: Uuid) -> Vec<i64> {
        const SQL: &str = "SELECT sequence FROM execution_logs WHERE execution_id = $1 \
            ORDER BY stream_ms, stream_seq";
        match self.owned() {
            Owned::Postgres { store, .. } => sqlx::query_scalar(SQL)
                .bind(id)
                .fetch_all(store.pool())
                .await
                .expect("read the log's sequence numbers"),
            Owned::Sqlite { store, .. } => sqlx::query_scalar(SQL)
                .bind(id.hyphenated().to_string())
                .fetch_all(store.pool())
                .await
                .expect("read the log's sequence numbers"),
        }
    }

    /// How many connections to the PostgreSQL server have `application_name` now (a
    /// PostgreSQL environment only).
    pub async fn connections_named(&self, application_name: &str) -> i64 {
        let Owned::Postgres { store, .. } = self.owned() else {
            panic!("connections are counted on PostgreSQL only")
        };
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(application_name)
            .fetch_one(store.pool())
            .await
            .expect("count the server's connections")
    }

    /// Execution `id`'s status, read as a platform admin sees it.
    pub async fn status(&self, id: Uuid) -> bifrost_core::model::ExecutionStatus {
        self.service
            .get(&Identity::operator(), &id.to_string())
            .await
            .expect("read an execution")
            .status
    }

    /// The `deadline_at` of execution `id`'s row, in microseconds since the epoch.
    pub async fn deadline_at(&self, id: Uuid) -> Option<i64> {
        match self.owned() {
            Owned::Postgres { store, .. } => sqlx::query_scalar(
                "SELECT (extract(epoch FROM deadline_at) * 1000000)::bigint \
                 FROM executions WHERE id = $1",
            )
            .bind(id)
            .fetch_one(store.pool())
            .await
            .expect("read a deadline"),
            Owned::Sqlite { store, .. } => {
                sqlx::query_scalar("SELECT deadline_at FROM executions WHERE id = ?")
                    .bind(id.hyphenated().to_string())
                    .fetch_one(store.pool())
                    .await
                    .expect("read a deadline")
            }
        }
    }

    /// Rows in `table` (a name the test writes, never input), on either backend.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        match self.owned() {
            Owned::Postgres { store, .. } => sqlx::query_scalar(&sql)
                .fetch_one(store.pool())
                .await
                .expect("count rows"),
            Owned::Sqlite { store, .. } => sqlx::query_scalar(&sql)
                .fetch_one(store.pool())
                .await
                .expect("count rows"),
        }
    }

    /// Every backend of the test's store and log stream (the queue, the deployed
    /// workflows, the API's tables), connected as the CLI connects them.
    pub async fn backends(&self) -> bifrost_runner::backends::Backends {
        bifrost_runner::backends::BackendConfig {
            database_url: Some(self.database_url.clone()),
            redis_url: self.redis_url.clone(),
            log_prefix: Some(self.prefix.clone()),
            data_dir: None,
            db_connections: None,
            db_pooler: if self.backend == Backend::Pooler {
                bifrost_sql::Pooler::Transaction
            } else {
                bifrost_sql::Pooler::None
            },
            db_direct_url: self.direct_database_url.clone(),
        }
        .connect_all()
        .await
        .expect("connect the test's backends")
    }

    /// How many executions have each status, read from the store's table.
    pub async fn status_counts(&self) -> std::collections::BTreeMap<String, i64> {
        let pg = "SELECT status::text, count(*) FROM executions GROUP BY status";
        let lite = "SELECT status, count(*) FROM executions GROUP BY status";
        let rows: Vec<(String, i64)> = match self.owned() {
            Owned::Postgres { store, .. } => sqlx::query_as(pg)
                .fetch_all(store.pool())
                .await
                .expect("count statuses"),
            Owned::Sqlite { store, .. } => sqlx::query_as(lite)
                .fetch_all(store.pool())
                .await
                .expect("count statuses"),
        };
        rows.into_iter().collect()
    }

    /// The number of stored log lines of each execution that has any, as the store holds
    /// them (a line stored twice, by two runs of one execution, counts twice).
    pub async fn stored_lines_per_execution(&self) -> Vec<i64> {
        const SQL: &str = "SELECT count(*) FROM execution_logs GROUP BY execution_id";
        match self.owned() {
            Owned::Postgres { store, .. } => sqlx::query_scalar(SQL)
                .fetch_all(store.pool())
                .await
                .expect("count log lines"),
            Owned::Sqlite { store, .. } => sqlx::query_scalar(SQL)
                .fetch_all(store.pool())
                .await
                .expect("count log lines"),
        }
    }

    /// Every execution's status and number of stored log lines, read from the tables;
    /// PostgreSQL only.
    pub async fn lines_by_execution(&self) -> Vec<(Uuid, String, i64)> {
        let Owned::Postgres { store, .. } = self.owned() else {
            panic!("lines_by_execution needs the PostgreSQL backend")
        };
        sqlx::query_as(
            "SELECT e.id, e.status::text, count(l.execution_id) FROM executions e \
             LEFT JOIN execution_logs l ON l.execution_id = e.id GROUP BY e.id, e.status",
        )
        .fetch_all(store.pool())
        .await
        .expect("count each execution's lines")
    }

    /// Bytes PostgreSQL uses for `table`, with its TOAST table and indexes; panics on the
    /// embedded backend.
    pub async fn table_bytes(&self, table: &str) -> i64 {
        let Owned::Postgres { store, .. } = self.owned() else {
            panic!("table_bytes needs the PostgreSQL backend")
        };
        sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
            .bind(table)
            .fetch_one(store.pool())
            .await
            .expect("read the table's size")
    }

    /// The Redis log stream; panics on the embedded backend.
    pub fn redis(&self) -> &RedisLogStream {
        self.redis.as_ref().expect("a Redis backend")
    }

    fn owned(&self) -> &Owned {
        self.owned.as_ref().expect("the test environment is open")
    }

    /// Empties an execution's variables (the column and the table of their sizes), as
    /// nothing in the executions API can.
    pub async fn reset_variables(&self, id: Uuid) {
        const SQL: [&str; 2] = [
            "UPDATE executions SET variables = NULL WHERE id = $1",
            "DELETE FROM execution_variables WHERE execution_id = $1",
        ];
        for sql in SQL {
            let done = match self.owned() {
                Owned::Postgres { store, .. } => sqlx::query(sql)
                    .bind(id)
                    .execute(store.pool())
                    .await
                    .map(drop),
                Owned::Sqlite { store, .. } => sqlx::query(sql)
                    .bind(id.hyphenated().to_string())
                    .execute(store.pool())
                    .await
                    .map(drop),
            };
            done.expect("reset the execution's variables");
        }
    }

    /// Removes the database (or file) and every key under the prefix.
    pub async fn close(mut self) {
        if let Some(owned) = self.owned.take() {
            owned.close_pools().await;
            owned.remove(&self.prefix).await;
        }
    }
}

/// A test that panicked before [`TestEnv::close`] still leaves nothing behind: its
/// database is dropped (the open connections with it), its keys and files removed, on a
/// runtime of its own (the test's runtime may be the one unwinding).
impl Drop for TestEnv {
    fn drop(&mut self) {
        let Some(owned) = self.owned.take() else {
            return;
        };
        let prefix = self.prefix.clone();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to clean up the test environment");
            rt.block_on(owned.remove(&prefix));
        });
        if cleanup.join().is_err() {
            eprintln!("bifrost-tests: the clean-up of a test environment failed (see above)");
        }
    }
}

/// Deletes every key under `prefix` on the Redis server or cluster at `url`.
pub async fn delete_redis_keys(url: &str, prefix: &str) {
    let mut conn = bifrost_redis::RedisConnection::open(url)
        .await
        .unwrap_or_else(|e| panic!("connect to Redis at {url} to delete the test's keys: {e}"));
    // On a cluster, `KEYS` asks every master and each `DEL` goes to its key's slot.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("list the test's keys");
    for key in keys {
        let _: i64 = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("delete the test's keys");
    }
}

impl Owned {
    async fn close_pools(&self) {
        match self {
            Owned::Postgres { store, .. } => store.close().await,
            Owned::Sqlite { store, .. } => store.pool().close().await,
        }
    }

    /// Drops the database (terminating its connections) or removes the file, and deletes
    /// every Redis key under `prefix`.
    async fn remove(self, prefix: &str) {
        match self {
            Owned::Postgres {
                database,
                redis_url,
                ..
            } => {
                drop_postgres_database(&database).await;
                delete_redis_keys(&redis_url, prefix).await;
            }
            Owned::Sqlite { dir, .. } => {
                std::fs::remove_dir_all(&dir).expect("remove the test's SQLite directory");
            }
        }
    }
}

/// A new execution's row for `who`, of `workflow`, started by `parent` (or from outside),
/// created now.
pub fn new_row(
    who: &Identity,
    workflow: &str,
    parent: Option<Uuid>,
) -> bifrost_core::model::NewExecution {
    bifrost_core::model::NewExecution {
        id: Uuid::new_v4(),
        workflow_name: workflow.into(),
        parameters: serde_json::json!({}),
        executed_by: who.user_id,
        executed_by_name: who.user_name.clone(),
        organization_id: who.organization_id,
        form_id: None,
        parent_execution_id: parent,
        session_id: None,
        created_at: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
    }
}

/// A regular user of `org`.
pub fn user(org: Option<Uuid>) -> Identity {
    let id = Uuid::new_v4();
    Identity {
        user_id: id,
        user_name: format!("user-{}", &id.simple().to_string()[..6]),
        organization_id: org,
        is_platform_admin: false,
    }
}

/// A platform admin of `org` (all organisations when `None`).
pub fn admin(org: Option<Uuid>) -> Identity {
    Identity {
        is_platform_admin: true,
        ..user(org)
    }
}

/// The executions the reference document's examples are checked on, in every language: a
/// regular user's 14 executions (two workflows; `Success`, `Failed`, `Timeout` in turn, 13
/// hours apart from 2026-04-20 09:00 UTC) and another user's failure in the same
/// organisation, which the user never sees.
pub struct ReferenceDataset {
    /// The user the examples run as.
    pub me: Identity,
    /// The user's newest failure: the id the examples `get`.
    pub failed: Uuid,
    /// The user's executions: when each started, its id and status.
    mine: Vec<(
        chrono::DateTime<chrono::Utc>,
        Uuid,
        bifrost_core::model::ExecutionStatus,
    )>,
}

impl ReferenceDataset {
    /// Seeds the dataset.
    pub async fn seed(env: &TestEnv) -> ReferenceDataset {
        use bifrost_core::model::ExecutionStatus;
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let org = Some(Uuid::new_v4());
        let me = user(org);
        let statuses = [
            ExecutionStatus::Success,
            ExecutionStatus::Failed,
            ExecutionStatus::Timeout,
        ];
        let mut mine = Vec::new();
        for n in 0..14i64 {
            let started_at = at("2026-04-20T09:00:00Z") + chrono::TimeDelta::hours(13 * n);
            let status = statuses[(n % 3) as usize];
            let seed = Seed {
                by: me.user_id,
                org,
                workflow: format!("w{}", n % 2),
                status,
                started_at,
            };
            mine.push((started_at, env.seed(&seed).await, status));
        }
        let theirs = Seed {
            by: Uuid::new_v4(),
            org,
            workflow: "w0".into(),
            status: ExecutionStatus::Failed,
            started_at: at("2026-04-28T00:00:00Z"),
        };
        env.seed(&theirs).await;
        mine.sort_by_key(|&(t, id, _)| std::cmp::Reverse((t, id)));
        let failed = mine
            .iter()
            .find(|(_, _, s)| *s == ExecutionStatus::Failed)
            .unwrap()
            .1;
        ReferenceDataset { me, failed, mine }
    }

    /// What `list` of 10 answers while `current` (the examples' own execution, started now)
    /// runs: it, then the user's nine newest.
    pub fn recent(&self, current: Uuid) -> Vec<String> {
        let mut ids = vec![current.to_string()];
        ids.extend(self.mine.iter().take(9).map(|(_, id, _)| id.to_string()));
        ids
    }

    /// What `list` of failures since 2026-04-25 answers, newest first (at least two).
    pub fn failed_today(&self) -> Vec<String> {
        let since = chrono::DateTime::parse_from_rfc3339("2026-04-25T00:00:00Z").unwrap();
        let ids: Vec<String> = self
            .mine
            .iter()
            .filter(|(t, _, s)| *s == bifrost_core::model::ExecutionStatus::Failed && *t >= since)
            .map(|(_, id, _)| id.to_string())
            .collect();
        assert!(ids.len() >= 2, "the dataset has failures since the 25th");
        ids
    }
}

/// A seeded execution: who started it, where, what, and when.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Owner.
    pub by: Uuid,
    /// Organisation.
    pub org: Option<Uuid>,
    /// Workflow name.
    pub workflow: String,
    /// Final status.
    pub status: bifrost_core::model::ExecutionStatus,
    /// `started_at`.
    pub started_at: chrono::DateTime<chrono::Utc>,
}

impl TestEnv {
    /// Records an execution directly in the store, as another runner would have.
    pub async fn seed(&self, seed: &Seed) -> Uuid {
        use bifrost_core::model::{ExecutionStatus, NewExecution, Outcome};
        let id = Uuid::new_v4();
        self.store
            .create(&NewExecution {
                id,
                workflow_name: seed.workflow.clone(),
                parameters: serde_json::json!({"seeded": true}),
                executed_by: seed.by,
                executed_by_name: "seeded".into(),
                organization_id: seed.org,
                form_id: None,
                parent_execution_id: None,
                session_id: None,
                created_at: seed.started_at,
            })
            .await
            .expect("seed an execution");
        if seed.status == ExecutionStatus::Running {
            // Its deadline and lease an hour after it started.
            let later = seed.started_at + chrono::TimeDelta::hours(1);
            self.store
                .mark_running(
                    id,
                    &bifrost_core::store::RunStart {
                        started_at: seed.started_at,
                        deadline_at: later,
                        lease_until: later,
                    },
                )
                .await
                .expect("mark a seeded execution running");
        } else if seed.status.is_final() {
            self.store
                .finish_with_logs(
                    id,
                    &Outcome {
                        status: seed.status,
                        result: None,
                        result_type: None,
                        error_message: None,
                        duration_ms: 1,
                        completed_at: seed.started_at,
                        peak_memory_bytes: 1,
                        cpu_total_seconds: 0.0,
                        log_lines_dropped: 0,
                    },
                    &[],
                )
                .await
                .expect("finish a seeded execution");
        }
        id
    }
}

impl TestEnv {
    /// Records an execution `Running` since `started_at` whose lease ends at
    /// `lease_until` (its deadline an hour after it started), as a runner that went away
    /// leaves it when that is in the past.
    pub async fn seed_running(
        &self,
        workflow: &str,
        started_at: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Uuid {
        use bifrost_core::model::ExecutionStatus;
        let id = self
            .seed(&Seed {
                by: Uuid::new_v4(),
                org: None,
                workflow: workflow.into(),
                status: ExecutionStatus::Pending,
                started_at,
            })
            .await;
        self.store
            .mark_running(
                id,
                &bifrost_core::store::RunStart {
                    started_at,
                    deadline_at: started_at + chrono::TimeDelta::hours(1),
                    lease_until,
                },
            )
            .await
            .expect("mark a seeded execution running");
        id
    }
}

/// A test environment with a runner and the probe program loaded.
pub struct Harness {
    /// The backends.
    pub env: TestEnv,
    /// A runner on them.
    pub runner: bifrost_runner::Runner,
    /// The probe program, linked.
    pub probe: bifrost_runner::LoadedWorkflow,
}

impl Harness {
    /// Backends of the test's own, a runner with test-sized limits, and the probe.
    pub async fn new(backend: Backend) -> Harness {
        Self::with_config(backend, test_config()).await
    }

    /// Like [`new`](Self::new) with a runner configuration of the test's choosing.
    pub async fn with_config(backend: Backend, config: bifrost_runner::RunnerConfig) -> Harness {
        let env = TestEnv::new(backend).await;
        let runner =
            bifrost_runner::Runner::new(env.service.clone(), config).expect("create runner");
        let probe = runner
            .load_file(std::path::Path::new(PROBE))
            .expect("load the probe program");
        Harness { env, runner, probe }
    }

    /// Runs the probe as `who` with `calls` and returns the finished execution.
    pub async fn run_probe(
        &self,
        who: &Identity,
        calls: Vec<Call>,
    ) -> bifrost_core::model::Execution {
        self.run_probe_input(who, probe_protocol::Input::new(calls).to_json())
            .await
    }

    /// Runs the probe as `who` with this whole input (a [`probe_protocol::Input`], with
    /// `nul` if the calls should carry U+0000, or any JSON a test wants the probe to see)
    /// and returns the finished execution.
    pub async fn run_probe_input(
        &self,
        who: &Identity,
        input: serde_json::Value,
    ) -> bifrost_core::model::Execution {
        self.runner
            .run(
                &self.probe,
                bifrost_runner::RunRequest {
                    workflow_name: "probe".into(),
                    input,
                    identity: who.clone(),
                    form_id: None,
                    parent_execution_id: None,
                    session_id: None,
                },
            )
            .await
            .expect("run the probe")
    }

    /// Loads the workflow component at `path` and runs it as `name` on `input`, as `who`;
    /// the finished execution.
    pub async fn run_file(
        &self,
        path: &str,
        name: &str,
        input: serde_json::Value,
        who: &Identity,
    ) -> bifrost_core::model::Execution {
        let workflow = self
            .runner
            .load_file(std::path::Path::new(path))
            .unwrap_or_else(|e| panic!("load {path}: {e:#}"));
        self.runner
            .run(
                &workflow,
                bifrost_runner::RunRequest {
                    workflow_name: name.into(),
                    input,
                    identity: who.clone(),
                    form_id: None,
                    parent_execution_id: None,
                    session_id: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("run {name}: {e:#}"))
    }

    /// [`run_file`](Self::run_file), asserting that the execution succeeded.
    pub async fn run_file_ok(
        &self,
        path: &str,
        name: &str,
        input: serde_json::Value,
        who: &Identity,
    ) -> bifrost_core::model::Execution {
        let done = self.run_file(path, name, input, who).await;
        assert_eq!(
            done.status,
            bifrost_core::model::ExecutionStatus::Success,
            "{name} failed: {:?}",
            done.error_message
        );
        done
    }

    /// Runs the probe, asserts it succeeded, and returns its answers, one per call.
    pub async fn probe(
        &self,
        who: &Identity,
        calls: Vec<Call>,
    ) -> (bifrost_core::model::Execution, Vec<Answer>) {
        let execution = self.run_probe(who, calls).await;
        assert_eq!(
            execution.status,
            bifrost_core::model::ExecutionStatus::Success,
            "probe failed: {:?}",
            execution.error_message
        );
        let answers = answers(&execution);
        (execution, answers)
    }

    /// Ends the test: drops the database and the keys.
    pub async fn close(self) {
        drop(self.runner);
        self.env.close().await;
    }
}

/// Runner limits sized for tests: a small instance pool, so that many tests can each have
/// a runner in one process, and room for the probe's answers (which can hold a thousand
/// executions) in its result. The runners of every test share one compiled-code cache
/// ([`compiled_cache_dir`]): a component is compiled once per test run, not once per test.
pub fn test_config() -> bifrost_runner::RunnerConfig {
    bifrost_runner::RunnerConfig {
        max_instances: 32,
        limits: bifrost_core::limits::Limits {
            max_result_bytes: 64 << 20,
            ..Default::default()
        },
        compiled_cache: Some(bifrost_runner::CompiledCacheConfig {
            dir: compiled_cache_dir(),
            max_bytes: bifrost_runner::DEFAULT_COMPILED_CACHE_BYTES,
        }),
        ..Default::default()
    }
}

/// The compiled-code cache the tests' runners share, in-process and as `bifrost-runner`
/// processes: in the target directory, so that a test run leaves nothing in the home
/// directory. Entries are named by the component's hash and the engine's settings, so a
/// runner of other settings or another build never loads one.
pub fn compiled_cache_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("tmp")
        .join("compiled")
}

/// The probe's answers in an execution's result; panics if the result is not a list of
/// answers.
pub fn answers(execution: &bifrost_core::model::Execution) -> Vec<Answer> {
    let result = execution
        .result
        .clone()
        .unwrap_or_else(|| panic!("the probe returned nothing: {execution:?}"));
    serde_json::from_value(result.clone())
        .unwrap_or_else(|e| panic!("the probe's result is not a list of answers ({e}): {result}"))
}

/// The execution ids of a probe answer holding a list of executions.
#[track_caller]
pub fn ids(answer: &Answer) -> Vec<Uuid> {
    answer
        .ok()
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {answer:?}"))
        .iter()
        .map(|e| e["execution_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// Appends lines to an execution's live stream the way a writer would: ids after the
/// stream's last one. Returns the entries.
pub async fn append_lines(
    logs: &dyn LogStream,
    execution_id: Uuid,
    level: bifrost_core::model::LogLevel,
    messages: impl IntoIterator<Item = String>,
) -> Vec<bifrost_core::model::LogEntry> {
    use bifrost_core::model::{LogEntry, StreamId};
    let now = StreamId {
        ms: chrono::Utc::now().timestamp_millis() as u64,
        seq: 0,
    };
    let mut next = match logs
        .last_id(execution_id)
        .await
        .expect("read the stream's last id")
    {
        Some(last) if last >= now => last.successor().unwrap(),
        _ => now,
    };
    let entries: Vec<LogEntry> = messages
        .into_iter()
        .map(|message| {
            let id = next;
            next = next.successor().unwrap();
            LogEntry {
                id,
                execution_id,
                level,
                message,
                metadata: None,
                // As a writer does: stores keep microseconds.
                timestamp: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
            }
        })
        .collect();
    logs.append(&entries).await.expect("append to the stream");
    entries
}

/// The store data of an embedding that runs a workflow outside any execution.
struct Outside {
    wasi: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
    executions: bifrost_host::ExecutionsCtx,
}

impl wasmtime_wasi::WasiView for Outside {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Runs the workflow component at `path` on `input` in a host of the test's own (the
/// library embedded as a runner would), bound to `who` but outside any execution; what its
/// `run` export returned.
pub async fn run_outside_execution(
    service: bifrost_core::ExecutionsService,
    who: Identity,
    path: &str,
    input: &str,
) -> Result<String, String> {
    use wasmtime::component::{Linker, ResourceTable};
    // The engine of a runner configured as the tests' runners are, so that the component
    // comes from the compiled-code cache they share (the runner itself runs nothing here).
    static RUNNER: std::sync::OnceLock<bifrost_runner::Runner> = std::sync::OnceLock::new();
    let runner = RUNNER.get_or_init(|| {
        let memory = Arc::new(bifrost_core::memory::MemoryStore::default());
        let logs = Arc::new(bifrost_core::logs::MemoryLogStream::new());
        bifrost_runner::Runner::new(ExecutionsService::new(memory, logs), test_config())
            .expect("a runner for its engine")
    });
    let engine = runner.engine();
    let mut linker = Linker::<Outside>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    bifrost_host::add_to_linker(&mut linker, |s: &mut Outside| &mut s.executions).unwrap();
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (component, _) = runner
        .compile(&bytes)
        .unwrap_or_else(|e| panic!("{path}: {e:#}"));
    let mut store = wasmtime::Store::new(
        engine,
        Outside {
            wasi: wasmtime_wasi::WasiCtx::builder().build(),
            table: ResourceTable::new(),
            executions: bifrost_host::ExecutionsCtx::new(who, service),
        },
    );
    // The runner's engine interrupts guests at epoch deadlines: none here.
    store.set_epoch_deadline(1 << 40);
    let workflow = bifrost_host::Workflow::instantiate_async(&mut store, &component, &linker)
        .await
        .unwrap();
    workflow.call_run(&mut store, input).await.unwrap()
}

/// Runs the ignored test `name` (its path in this test binary, e.g.
/// `memory::bounded_by_the_caps_alone`) alone in a new process of this test binary, and
/// fails if it fails or did not run: for a test that measures the process itself (its peak
/// resident memory), which the tests running beside it in one binary would disturb. Its
/// output is shown with the calling test's.
#[track_caller]
pub fn run_alone(name: &str) {
    let exe = std::env::current_exe().expect("the path of this test binary");
    let out = std::process::Command::new(&exe)
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {} {name}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    print!("{stdout}");
    assert!(out.status.success(), "{name}, run alone, failed");
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{name} did not run alone: no such ignored test?"
    );
}

/// Creates the SQLite file `path` at the project's oldest SQLite migration, as the first
/// release left it: a file the current release must bring up to date.
pub async fn sqlite_at_the_oldest_migration(path: &std::path::Path) {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql/migrations/sqlite");
    let mut files: Vec<_> = std::fs::read_dir(&all)
        .expect("the SQLite migrations")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let only_the_oldest = path.with_extension("oldest-migration");
    std::fs::create_dir_all(&only_the_oldest).unwrap();
    std::fs::copy(
        &files[0],
        only_the_oldest.join(files[0].file_name().unwrap()),
    )
    .unwrap();
    let oldest = sqlx::migrate::Migrator::new(only_the_oldest.as_path())
        .await
        .expect("read the oldest migration");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true),
        )
        .await
        .expect("create the SQLite file");
    oldest.run(&pool).await.expect("apply the oldest migration");
    pool.close().await;
    std::fs::remove_dir_all(&only_the_oldest).unwrap();
}
