//! The execution store ([`ExecutionStore`](bifrost_core::store::ExecutionStore): its four role traits) on PostgreSQL through sqlx. Parameterised queries only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, QueryBuilder};
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;
use uuid::Uuid;

use bifrost_core::store::{
    ExecutionReader, LeaseKeeper, LogArchive, RunRecorder, RunStart, merge_variables,
};

use crate::error::db;
use crate::migrations;
use crate::rows::row_by_name;
use bifrost_core::error::StoreError;
use bifrost_core::identity::Scope;
use bifrost_core::model::{
    Execution, ExecutionStatus, LogEntry, LogLevel, LogMetadata, NewExecution, Outcome, StreamId,
};
use bifrost_core::query::ListQuery;

mod pooler;
mod queue;
mod workflows;

use pooler::{Db, On};

/// Executions and finished logs in PostgreSQL, in Bifrost's `executions` and
/// `execution_logs` tables.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The connection that listens for submissions (`LISTEN bifrost_queue`), opened by the
    /// first wait for work.
    listener: std::sync::Arc<tokio::sync::Mutex<Option<sqlx::postgres::PgListener>>>,
    /// Connections that plan every execution of a prepared statement with its parameter
    /// values (`plan_cache_mode = force_custom_plan`), for `list` (see there); made by
    /// [`connect`](Self::connect), opened as `list` needs them.
    list_pool: Option<PgPool>,
    /// The one connection `LISTEN` holds, outside the store's budget; made by
    /// [`connect_with`](Self::connect_with), opened by the first wait for work. Without
    /// it, the listener holds one of `pool`'s connections (or, through a pooler, there is
    /// no listener: waits for work sleep their time out).
    listen_pool: Option<PgPool>,
    /// Whether the URL is a pooler's in transaction mode ([`Pooler::Transaction`]): every
    /// statement unnamed and in a transaction ([`pooler`]).
    pooled: bool,
}

/// What stands between the store and PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pooler {
    /// Nothing: the URL is the server's (or a pooler's in session mode). Statements are
    /// prepared once per connection and kept.
    #[default]
    None,
    /// A pooler in transaction mode (PgBouncer's `pool_mode = transaction`): each
    /// statement unnamed, in a transaction of its own, so that no server-side prepared
    /// state outlives it (PgBouncer before 1.21 keeps none between transactions). `LISTEN`
    /// and the migrations, which need a session, go to [`PostgresOptions::direct_url`].
    Transaction,
}

impl std::str::FromStr for Pooler {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Pooler::None),
            "transaction" => Ok(Pooler::Transaction),
            _ => Err(format!("not a pooler mode: {s:?} (none, transaction)")),
        }
    }
}

/// How [`PostgresStore::connect_with_options`] connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections of the store's two pools together ([`PostgresStore::connect_with`]).
    pub connections: u32,
    /// What the URL points at.
    pub pooler: Pooler,
    /// With [`Pooler::Transaction`]: a URL of the server itself, for `LISTEN` (one
    /// connection) and the migrations. Without it, waits for work poll (each sleeps its
    /// time out) and the migrations are not run: the store checks that the database has
    /// them all, and fails with [`StoreError::Migration`] naming the fix otherwise.
    pub direct_url: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            connections: DEFAULT_CONNECTIONS,
            pooler: Pooler::None,
            direct_url: None,
        }
    }
}

/// Removes the variables of execution `$1` that were set one at a time, as `vars`, for
/// [`FOLDED_VARIABLES`] to fold into the row.
const FOLD_VARIABLES: &str =
    "vars AS (DELETE FROM execution_variables WHERE execution_id = $1 RETURNING name, value)";

/// The row's `variables` with those of [`FOLD_VARIABLES`] set over them.
const FOLDED_VARIABLES: &str = "CASE WHEN EXISTS (SELECT 1 FROM vars) \
    THEN COALESCE(variables, '{}'::jsonb) || (SELECT jsonb_object_agg(name, value) FROM vars) \
    ELSE variables END";

/// The final status and figures of a run, with its variables folded into the row; after
/// `WITH {FOLD_VARIABLES}`; bind with `bind_outcome!`.
static FINISH_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE executions SET status = $2::execution_status, result = $3, \
         result_type = $4, error_message = $5, duration_ms = $6, completed_at = $7, \
         peak_memory_bytes = $8, cpu_total_seconds = $9, log_lines_dropped = $10, \
         variables = {FOLDED_VARIABLES} WHERE id = $1"
    )
});

/// A new execution's row: id, workflow name, status, parameters, started, created,
/// deadline, lease, executed by (id, name), organisation, form, session, parent
/// (`$1`-`$14`).
const INSERT_EXECUTION_SQL: &str = "INSERT INTO executions (id, workflow_name, status, \
    parameters, started_at, created_at, deadline_at, lease_until, executed_by, \
    executed_by_name, organization_id, form_id, session_id, parent_execution_id) \
    VALUES ($1, $2, $3::execution_status, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// The final status and the last chunk of logs in one statement, returning the row: the
/// outcome as [`bind_outcome!`] binds it (`$1`-`$10`), then the log columns as
/// [`unnest_logs`] reads them (`$11`-`$18`).
static FINISH_WITH_LOGS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {}, {LOG_BASE}, logs AS ({INSERT_LOGS}), {FOLD_VARIABLES} {} \
         RETURNING {EXECUTION_COLUMNS}",
        unnest_logs(11),
        *FINISH_SQL,
    )
});

/// Binds a run's outcome to [`FINISH_SQL`] (or a query that extends it): a `query` or a
/// `query_as`, which share no trait for `bind`.
macro_rules! bind_outcome {
    ($q:expr, $id:expr, $outcome:expr) => {{
        let outcome: &Outcome = $outcome;
        $q.bind($id)
            .bind(outcome.status.as_str())
            .bind(&outcome.result)
            .bind(&outcome.result_type)
            .bind(&outcome.error_message)
            .bind(outcome.duration_ms)
            .bind(outcome.completed_at)
            .bind(outcome.peak_memory_bytes)
            .bind(outcome.cpu_total_seconds)
            .bind((outcome.log_lines_dropped > 0).then_some(outcome.log_lines_dropped))
    }};
}

/// The columns of an [`ExecutionRow`], reading the variables (`$vars`) or not.
macro_rules! execution_columns {
    ($vars:literal) => {
        concat!(
            "id, workflow_name, status::text AS status, parameters, result, result_type, ",
            $vars,
            ", error_message, duration_ms, started_at, completed_at, created_at, executed_by, \
             executed_by_name, organization_id, form_id, session_id, peak_memory_bytes, \
             cpu_total_seconds, log_lines_dropped, workflow_version, parent_execution_id"
        )
    };
}

/// Every column, the variables included: those folded into the row and those set since.
const EXECUTION_COLUMNS: &str = execution_columns!(
    "variables, (SELECT jsonb_object_agg(v.name, v.value) FROM execution_variables v \
     WHERE v.execution_id = executions.id) AS live_variables"
);

/// Every column but the variables, which are not read at all: for callers who may not see
/// them.
const EXECUTION_COLUMNS_NO_VARIABLES: &str =
    execution_columns!("NULL::jsonb AS variables, NULL::jsonb AS live_variables");

fn execution_columns(with_variables: bool) -> &'static str {
    if with_variables {
        EXECUTION_COLUMNS
    } else {
        EXECUTION_COLUMNS_NO_VARIABLES
    }
}

/// The longest a statement runs, unless the URL sets `statement_timeout` itself.
const STATEMENT_TIMEOUT: &str = "30s";

impl PostgresStore {
    /// Checks that `url` is a PostgreSQL URL the driver accepts, without connecting.
    pub fn check_url(url: &str) -> Result<(), String> {
        PgConnectOptions::from_str(url)
            .map(drop)
            .map_err(|e| format!("invalid URL: {e}"))
    }

    /// Connects to `url` (a `postgres://` URL) with [`DEFAULT_CONNECTIONS`], checks the
    /// connection, and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, DEFAULT_CONNECTIONS).await
    }

    /// Like [`connect`](Self::connect), with at most `connections` connections to the
    /// server in the store's two pools together (below [`MIN_CONNECTIONS`], that many): a
    /// quarter of them (at least one) for `list`, the rest for every other statement.
    /// Waiting for submissions (`LISTEN`, under `serve`) holds one connection more, of a
    /// pool of its own.
    pub async fn connect_with(url: &str, connections: u32) -> Result<Self, StoreError> {
        Self::connect_with_options(
            url,
            &PostgresOptions {
                connections,
                ..PostgresOptions::default()
            },
        )
        .await
    }

    /// Like [`connect_with`](Self::connect_with), through a pooler if `options` say so.
    pub async fn connect_with_options(
        url: &str,
        options: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        let connections = options.connections.max(MIN_CONNECTIONS);
        let pooled = options.pooler == Pooler::Transaction;
        let invalid = |e: sqlx::Error| StoreError::Unavailable(format!("invalid URL: {e}"));
        let mut connect = PgConnectOptions::from_str(url).map_err(invalid)?;
        if pooled {
            // A pooler refuses startup parameters it does not know (PgBouncer: `options`,
            // `extra_float_digits`) unless told to ignore them: send none. The statement
            // timeout is then the server's (set it on the role or the database).
            connect = connect.extra_float_digits(None).statement_cache_capacity(0);
        } else if !connect
            .get_options()
            .is_some_and(|o| o.contains("statement_timeout"))
        {
            // No statement runs longer than `STATEMENT_TIMEOUT` unless the URL says
            // otherwise (`?options=-c%20statement_timeout%3D10s`): one held up by a lock
            // ends as unavailable, to be retried, instead of holding its caller and its
            // connection.
            connect = connect.options([("statement_timeout", STATEMENT_TIMEOUT)]);
        }
        let list_share = list_connections(connections);
        let list_pool = if pooled {
            // Unnamed statements are planned with their values every time anyway.
            pool_options(list_share).connect_lazy_with(connect.clone())
        } else {
            pool_options(list_share).connect_lazy_with(
                connect
                    .clone()
                    .options([("plan_cache_mode", "force_custom_plan")]),
            )
        };
        // One connection first, tried once: a server that refuses it, or does not answer in
        // `FIRST_CONNECT_TIMEOUT`, is unreachable now (the command line exits 3 at once);
        // the pool would retry for its whole acquire timeout (30 s) before saying so.
        let first =
            tokio::time::timeout(FIRST_CONNECT_TIMEOUT, PgConnection::connect_with(&connect))
                .await
                .map_err(|_| {
                    StoreError::Unavailable(format!(
                        "no answer from the server in {} s",
                        FIRST_CONNECT_TIMEOUT.as_secs()
                    ))
                })?
                .map_err(db)?;
        first.close().await.ok();
        let direct = match (&options.direct_url, pooled) {
            (Some(direct), true) => Some(PgConnectOptions::from_str(direct).map_err(invalid)?),
            (_, true) => None,
            (_, false) => Some(connect.clone()),
        };
        let listen_pool = direct
            .clone()
            .map(|direct| pool_options(1).connect_lazy_with(direct));
        let pool = pool_options(connections - list_share).connect_lazy_with(connect);
        let mut store = Self::from_pool(pool).with_list_pool(list_pool);
        store.listen_pool = listen_pool;
        store.pooled = pooled;
        match (pooled, direct) {
            (false, _) => store.migrate().await?,
            (true, Some(direct)) => {
                // The migrations take a session-level lock and prepare statements: on a
                // connection of the server's own, closed after.
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(direct)
                    .await
                    .map_err(db)?;
                let done = Self::from_pool(pool.clone()).migrate().await;
                pool.close().await;
                done?;
            }
            (true, None) => store.check_migrated().await?,
        }
        Ok(store)
    }

    /// Through a pooler with no direct URL: fails unless every migration of this version
    /// has been applied to the database.
    async fn check_migrated(&self) -> Result<(), StoreError> {
        let migrator = migrations::POSTGRES
            .migrator()
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        let wanted = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(self.db())
                .await
                .or_else(|e| match &e {
                    // No table at all: nothing applied.
                    sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => Ok(None),
                    _ => Err(e),
                })
                .map_err(db)?;
        if applied.unwrap_or(0) < wanted {
            return Err(StoreError::Migration(format!(
                "the database has migrations up to {} and this runner needs {wanted}; \
                 through a pooler they run only with BIFROST_DB_DIRECT_URL (a URL of the \
                 server itself), once, from any process",
                applied.unwrap_or(0)
            )));
        }
        Ok(())
    }

    /// The pool as an executor ([`pooler`]).
    fn db(&self) -> Db<'_> {
        Db {
            pool: &self.pool,
            pooled: self.pooled,
        }
    }

    /// A connection in a transaction as an executor ([`pooler`]).
    fn on<'c>(&self, conn: &'c mut PgConnection) -> On<'c> {
        On {
            conn,
            prepared: !self.pooled,
        }
    }

    /// Wraps an existing pool; call [`migrate`](Self::migrate) before use.
    ///
    /// `list` then sends unnamed statements on it, planned with their values every time;
    /// [`with_list_pool`](Self::with_list_pool) gives it prepared statements, a round trip
    /// a call less, as [`connect`](Self::connect) does.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            listener: Default::default(),
            list_pool: None,
            listen_pool: None,
            pooled: false,
        }
    }

    /// Closes every connection of the store (every pool).
    pub async fn close(&self) {
        self.pool.close().await;
        for pool in [&self.list_pool, &self.listen_pool].into_iter().flatten() {
            pool.close().await;
        }
    }

    /// Runs `list` on `pool`, as prepared statements: every connection of `pool` must have
    /// `plan_cache_mode = force_custom_plan` (`PgConnectOptions::options`), so that each
    /// execution is planned with its values (see `list`).
    pub fn with_list_pool(mut self, pool: PgPool) -> Self {
        self.list_pool = Some(pool);
        self
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::POSTGRES
            .migrator()
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Records a new execution: `Pending` (started at its creation, no deadline yet) or
    /// `Running`.
    async fn insert_execution(
        &self,
        new: &NewExecution,
        status: ExecutionStatus,
        start: Option<&RunStart>,
    ) -> Result<(), StoreError> {
        sqlx::query(INSERT_EXECUTION_SQL)
            .bind(new.id)
            .bind(&new.workflow_name)
            .bind(status.as_str())
            .bind(&new.parameters)
            .bind(start.map_or(new.created_at, |s| s.started_at))
            .bind(new.created_at)
            .bind(start.map(|s| s.deadline_at))
            .bind(start.map(|s| s.lease_until))
            .bind(new.executed_by)
            .bind(&new.executed_by_name)
            .bind(new.organization_id)
            .bind(new.form_id)
            .bind(&new.session_id)
            .bind(new.parent_execution_id)
            .execute(self.db())
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The two statements a run with a free slot sends, with their parameters as `$1`,
    /// `$2`, ...: the row written already `Running` ([`create_running`](RunRecorder::create_running),
    /// `$1`-`$13`: id, workflow name, status, parameters, started, created, deadline,
    /// lease, executed by, by name, organisation, form, session) and the final status with
    /// the log ([`finish_with_logs`](RunRecorder::finish_with_logs) for a log of one
    /// chunk, `$1`-`$18`: id, status, result, result type, error, duration, completed,
    /// peak memory, CPU seconds, lines dropped, then the log entries' execution ids,
    /// levels, messages, metadata, timestamps, stream ids and their two numbers as
    /// arrays). What a benchmark hands to `pgbench` to measure PostgreSQL's own time for an
    /// execution.
    pub fn run_sql() -> [&'static str; 2] {
        [INSERT_EXECUTION_SQL, FINISH_WITH_LOGS_SQL.as_str()]
    }

    /// The SQL text [`list`](ExecutionReader::list) sends for `scope` and `query`, with its
    /// parameters as `$1`, `$2`, ... (in the order the filters bind them, the limit last):
    /// what a benchmark hands to `pgbench` to measure PostgreSQL's own floor for the same
    /// statement.
    pub fn list_sql(scope: &Scope, query: &ListQuery, with_variables: bool) -> String {
        list_query("", scope, query, with_variables)
            .sql()
            .to_owned()
    }

    /// The plan PostgreSQL runs for [`list`](ExecutionReader::list) with `scope` and
    /// `query`, from `EXPLAIN (ANALYZE, BUFFERS)`: what the benchmarks' report keeps, so that
    /// an index the query does not use shows.
    pub async fn explain_list(
        &self,
        scope: &Scope,
        query: &ListQuery,
        with_variables: bool,
    ) -> Result<String, StoreError> {
        let lines: Vec<(String,)> =
            list_query("EXPLAIN (ANALYZE, BUFFERS) ", scope, query, with_variables)
                .build_query_as()
                .persistent(false)
                .fetch_all(self.db())
                .await
                .map_err(db)?;
        Ok(lines
            .into_iter()
            .map(|(l,)| l)
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// The `list` query for `scope` and `query`, after `prefix` (`EXPLAIN ...` or nothing).
fn list_query<'a>(
    prefix: &str,
    scope: &Scope,
    query: &ListQuery,
    with_variables: bool,
) -> QueryBuilder<'a, Postgres> {
    crate::list::list_query::<PostgresDialect>(
        prefix,
        execution_columns(with_variables),
        scope,
        query,
    )
}

/// Connections of a store made by [`PostgresStore::connect`], both pools together (16, as
/// one pool had before `list` got its own).
pub const DEFAULT_CONNECTIONS: u32 = 16;
/// The fewest connections a store opens: one for `list`, one for the rest.
pub const MIN_CONNECTIONS: u32 = 2;

/// Of a store's `connections`, those of the list pool (opened as `list` needs them): a
/// quarter, at least one, never all.
fn list_connections(connections: u32) -> u32 {
    (connections / 4).clamp(1, connections.saturating_sub(1).max(1))
}

/// A store's pool of `connections`; under load, waiting for a connection beats failing a
/// call.
///
/// sqlx checks a connection with a round trip (a ping) every time it hands one out, by
/// default: a round trip more for every call, as long as the call itself for a `get`. Here
/// only a connection idle for more than a second is checked (one a restarted server closed
/// while nothing used it is replaced, not failed); one in use under load is taken as it is,
/// and if the server went away since, the call fails as unavailable (the runner's writes
/// retry; a guest's read gets the typed error).
/// How long [`PostgresStore::connect`] waits for the server to answer its first connection.
const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn pool_options(connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < Duration::from_secs(1) {
                    return Ok(true);
                }
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
}

/// PostgreSQL binds ids and times in their own types; the status is an enum.
struct PostgresDialect;

impl crate::list::Dialect for PostgresDialect {
    type Db = Postgres;
    type Id = Uuid;
    type Time = DateTime<Utc>;
    type Json = serde_json::Value;
    const TRUE: &'static str = "TRUE";
    const STATUS_CAST: &'static str = "::execution_status";

    fn id(stored: Uuid) -> Result<Uuid, StoreError> {
        Ok(stored)
    }

    fn time(stored: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        Ok(stored)
    }

    fn json(stored: serde_json::Value) -> Result<serde_json::Value, StoreError> {
        Ok(stored)
    }

    fn bind_id(qb: &mut QueryBuilder<'_, Postgres>, id: Uuid) {
        qb.push_bind(id);
    }

    fn bind_time(qb: &mut QueryBuilder<'_, Postgres>, at: DateTime<Utc>) {
        qb.push_bind(at);
    }

    fn bind_text(qb: &mut QueryBuilder<'_, Postgres>, text: String) {
        qb.push_bind(text);
    }

    fn bind_int(qb: &mut QueryBuilder<'_, Postgres>, n: i64) {
        qb.push_bind(n);
    }

    fn bind_opt_id(qb: &mut QueryBuilder<'_, Postgres>, id: Option<Uuid>) {
        qb.push_bind(id);
    }

    fn bind_opt_time(qb: &mut QueryBuilder<'_, Postgres>, at: Option<DateTime<Utc>>) {
        qb.push_bind(at);
    }

    fn bind_bool(qb: &mut QueryBuilder<'_, Postgres>, b: bool) {
        qb.push_bind(b);
    }

    fn bind_json(qb: &mut QueryBuilder<'_, Postgres>, v: &serde_json::Value) {
        qb.push_bind(v.clone());
    }
}

crate::access::access_store!(PostgresStore, PostgresDialect);

/// Log entries as the columns `INSERT_LOGS` unnests.
struct LogColumns<'a> {
    ids: Vec<Uuid>,
    levels: Vec<&'a str>,
    messages: Vec<&'a str>,
    metadata: Vec<Option<&'a str>>,
    timestamps: Vec<DateTime<Utc>>,
    stream_ids: Vec<String>,
    ms: Vec<i64>,
    seq: Vec<i64>,
}

impl<'a> LogColumns<'a> {
    fn new(entries: &'a [LogEntry]) -> Result<Self, StoreError> {
        let n = entries.len();
        let mut c = LogColumns {
            ids: Vec::with_capacity(n),
            levels: Vec::with_capacity(n),
            messages: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            timestamps: Vec::with_capacity(n),
            stream_ids: Vec::with_capacity(n),
            ms: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
        };
        for e in entries {
            c.ids.push(e.execution_id);
            c.levels.push(e.level.as_str());
            c.messages.push(e.message.as_str());
            c.metadata
                .push(e.metadata.as_ref().map(LogMetadata::as_str));
            c.timestamps.push(e.timestamp);
            c.stream_ids.push(e.id.to_string());
            c.ms.push(to_i64(e.id.ms, "stream id")?);
            c.seq.push(to_i64(e.id.seq, "stream sequence")?);
        }
        Ok(c)
    }
}

/// Binds [`LogColumns`] to the next eight parameters of a query.
macro_rules! bind_log_columns {
    ($q:expr, $c:expr) => {{
        let c: &LogColumns<'_> = $c;
        $q.bind(&c.ids)
            .bind(&c.levels)
            .bind(&c.messages)
            .bind(&c.metadata)
            .bind(&c.timestamps)
            .bind(&c.stream_ids)
            .bind(&c.ms)
            .bind(&c.seq)
    }};
}

/// The log columns unnested from eight array parameters, the first being `$first`, as
/// the table `t`.
fn unnest_logs(first: usize) -> String {
    let p: Vec<String> = (first..first + 8).map(|i| format!("${i}")).collect();
    format!(
        "t AS (SELECT * FROM UNNEST({}::uuid[], {}::text[], {}::text[], {}::text[], \
         {}::timestamptz[], {}::text[], {}::bigint[], {}::bigint[]) \
         AS t(execution_id, level, message, log_metadata, ts, stream_id, ms, seq))",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
    )
}

/// Where each execution's numbering continues, as the table `base`: one probe of
/// `execution_logs_sequence_idx` per execution in `t`, made before anything is inserted.
///
/// Materialized, so that it is looked up once per statement. Looked up per inserted row
/// (as a correlated subquery in the insert, which the planner keeps per row), each probe
/// walked past the entries the statement had already inserted, not yet visible to it:
/// storing 5,000 lines took 2 s instead of 0.1 s, and a long log was quadratic.
const LOG_BASE: &str = "base AS MATERIALIZED (SELECT d.execution_id, \
    COALESCE((SELECT max(l.sequence) + 1 FROM execution_logs l \
        WHERE l.execution_id = d.execution_id), 0) AS next \
    FROM (SELECT DISTINCT execution_id FROM t) d)";

/// Inserts the rows of `t` (see [`unnest_logs`]), numbered after `base` (see
/// [`LOG_BASE`]), keeping an entry already stored once.
const INSERT_LOGS: &str = "INSERT INTO execution_logs (execution_id, level, message, \
    log_metadata, \"timestamp\", sequence, stream_id, stream_ms, stream_seq) \
    SELECT t.execution_id, t.level, t.message, t.log_metadata::jsonb, t.ts, \
        base.next + row_number() OVER (PARTITION BY t.execution_id ORDER BY t.ms, t.seq) - 1, \
        t.stream_id, t.ms, t.seq \
    FROM t JOIN base ON base.execution_id = t.execution_id \
    ON CONFLICT (execution_id, stream_ms, stream_seq) DO NOTHING";

/// Entries in one statement: arrays unnested server-side, so a move is a few round trips
/// whatever the number of lines.
const LOG_CHUNK: usize = 5000;

/// Stores log entries on one connection (with statements kept prepared or not, see
/// [`pooler`]).
async fn insert_logs_on(
    conn: &mut PgConnection,
    prepared: bool,
    entries: &[LogEntry],
) -> Result<(), StoreError> {
    let sql = format!("WITH {}, {LOG_BASE} {INSERT_LOGS}", unnest_logs(1));
    for chunk in entries.chunks(LOG_CHUNK) {
        let columns = LogColumns::new(chunk)?;
        bind_log_columns!(sqlx::query(&sql), &columns)
            .execute(On {
                conn: &mut *conn,
                prepared,
            })
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Stores the last chunk of a run's log and writes its final status, in one statement;
/// returns the row as it is then.
async fn finish_statement<'c>(
    conn: impl sqlx::Executor<'c, Database = Postgres>,
    id: Uuid,
    outcome: &Outcome,
    entries: &[LogEntry],
) -> Result<ExecutionRow, StoreError> {
    let columns = LogColumns::new(entries)?;
    let row: Option<ExecutionRow> = bind_log_columns!(
        bind_outcome!(sqlx::query_as(&FINISH_WITH_LOGS_SQL), id, outcome),
        &columns
    )
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.ok_or(StoreError::NotFound)
}

row_by_name! {
    struct ExecutionRow from sqlx::postgres::PgRow {
        id: Uuid,
        workflow_name: String,
        status: String,
        parameters: serde_json::Value,
        result: Option<serde_json::Value>,
        result_type: Option<String>,
        variables: Option<serde_json::Value>,
        live_variables: Option<serde_json::Value>,
        error_message: Option<String>,
        duration_ms: Option<i64>,
        started_at: Option<DateTime<Utc>>,
        completed_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        executed_by: Uuid,
        executed_by_name: String,
        organization_id: Option<Uuid>,
        form_id: Option<Uuid>,
        session_id: Option<String>,
        parent_execution_id: Option<Uuid>,
        peak_memory_bytes: Option<i64>,
        cpu_total_seconds: Option<f64>,
        log_lines_dropped: Option<i64>,
        workflow_version: Option<String>,
    }
}

impl TryFrom<ExecutionRow> for Execution {
    type Error = StoreError;
    fn try_from(r: ExecutionRow) -> Result<Self, StoreError> {
        Ok(Execution {
            id: r.id,
            workflow_name: r.workflow_name,
            status: r
                .status
                .parse()
                .map_err(|e: bifrost_core::model::ParseStatusError| {
                    StoreError::Database(e.to_string())
                })?,
            parameters: r.parameters,
            result: r.result,
            result_type: r.result_type,
            error_message: r.error_message,
            duration_ms: r.duration_ms,
            started_at: r.started_at,
            completed_at: r.completed_at,
            created_at: r.created_at,
            logs: None,
            variables: merge_variables(r.variables, r.live_variables),
            session_id: r.session_id,
            peak_memory_bytes: r.peak_memory_bytes,
            cpu_total_seconds: r.cpu_total_seconds,
            log_lines_dropped: r.log_lines_dropped,
            workflow_version: r.workflow_version,
            executed_by: r.executed_by,
            executed_by_name: r.executed_by_name,
            organization_id: r.organization_id,
            form_id: r.form_id,
            parent_execution_id: r.parent_execution_id,
        })
    }
}

row_by_name! {
    struct LogRow from sqlx::postgres::PgRow {
        execution_id: Uuid,
        level: String,
        message: String,
        log_metadata: Option<serde_json::Value>,
        timestamp: DateTime<Utc>,
        stream_ms: i64,
        stream_seq: i64,
    }
}

impl TryFrom<LogRow> for LogEntry {
    type Error = StoreError;
    fn try_from(r: LogRow) -> Result<Self, StoreError> {
        Ok(LogEntry {
            id: StreamId {
                ms: r.stream_ms as u64,
                seq: r.stream_seq as u64,
            },
            execution_id: r.execution_id,
            level: r
                .level
                .parse::<LogLevel>()
                .map_err(|e| StoreError::Database(e.to_string()))?,
            message: r.message,
            metadata: r.log_metadata.as_ref().map(LogMetadata::from_value),
            timestamp: r.timestamp,
        })
    }
}

fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Database(format!("{what} {v} does not fit in bigint")))
}

#[async_trait]
impl ExecutionReader for PostgresStore {
    #[tracing::instrument(skip_all, fields(%id))]
    async fn fetch(&self, id: Uuid, with_variables: bool) -> Result<Execution, StoreError> {
        let sql = format!(
            "SELECT {} FROM executions WHERE id = $1",
            execution_columns(with_variables)
        );
        let row: ExecutionRow = sqlx::query_as(&sql)
            .bind(id)
            .fetch_one(self.db())
            .await
            .map_err(db)?;
        row.try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn list(
        &self,
        scope: &Scope,
        query: &ListQuery,
        with_variables: bool,
    ) -> Result<Vec<Execution>, StoreError> {
        // After five runs PostgreSQL may switch a prepared statement to a generic plan,
        // chosen without the parameter values, and for `list` that plan can pick the wrong
        // index for one identity's filters (20 ms instead of 0.2 ms at a million rows, in
        // the list benchmark). So a prepared statement only on the list pool, whose
        // connections plan with the values every time (`force_custom_plan`: set there
        // only, as it would cost `get` and the writes a planning each); otherwise an unnamed
        // statement, which sqlx describes in a round trip of its own before it runs it
        // (about 0.1 ms here: `scripts/bench --only native-floor`).
        let rows: Vec<ExecutionRow> = list_query("", scope, query, with_variables)
            .build_query_as()
            .persistent(self.list_pool.is_some())
            .fetch_all(Db {
                pool: self.list_pool.as_ref().unwrap_or(&self.pool),
                pooled: self.pooled,
            })
            .await
            .map_err(db)?;
        rows.into_iter().map(Execution::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn read_logs(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        // Stored ids fit in bigint; a start past that range is normalised to the next id
        // that fits, or reads as empty.
        let (ms, seq) = match (i64::try_from(start.ms), i64::try_from(start.seq)) {
            (Ok(ms), Ok(seq)) => (ms, seq),
            (Ok(ms), Err(_)) if ms < i64::MAX => (ms + 1, 0),
            _ => return Ok(Vec::new()),
        };
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT execution_id, level, message, log_metadata, \"timestamp\", stream_ms, stream_seq \
             FROM execution_logs WHERE execution_id = $1 AND (stream_ms, stream_seq) >= ($2, $3) \
             ORDER BY stream_ms, stream_seq LIMIT $4",
        )
        .bind(execution_id)
        .bind(ms)
        .bind(seq)
        .bind(i64::from(count))
        .fetch_all(self.db())
        .await.map_err(db)?;
        rows.into_iter().map(LogEntry::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn read_last_logs(
        &self,
        execution_id: Uuid,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let mut rows: Vec<LogRow> = sqlx::query_as(
            "SELECT execution_id, level, message, log_metadata, \"timestamp\", stream_ms, stream_seq \
             FROM execution_logs WHERE execution_id = $1 \
             ORDER BY stream_ms DESC, stream_seq DESC LIMIT $2",
        )
        .bind(execution_id)
        .bind(i64::from(count))
        .fetch_all(self.db())
        .await
        .map_err(db)?;
        rows.reverse();
        rows.into_iter().map(LogEntry::try_from).collect()
    }
}

#[async_trait]
impl RunRecorder for PostgresStore {
    #[tracing::instrument(skip_all, fields(id = %new.id))]
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError> {
        self.insert_execution(new, ExecutionStatus::Pending, None)
            .await
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE executions SET status = CASE WHEN status = 'Cancelling' THEN status ELSE 'Running' END, started_at = $2, deadline_at = $3, \
             lease_until = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(start.started_at)
        .bind(start.deadline_at)
        .bind(start.lease_until)
        .execute(self.db())
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%new.id))]
    async fn create_running(&self, new: &NewExecution, start: &RunStart) -> Result<(), StoreError> {
        self.insert_execution(new, ExecutionStatus::Running, Some(start))
            .await
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn set_variable(
        &self,
        id: Uuid,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO execution_variables (execution_id, name, value) \
             SELECT id, $2, $3 FROM executions WHERE id = $1 \
             ON CONFLICT (execution_id, name) DO UPDATE SET value = EXCLUDED.value",
        )
        .bind(id)
        .bind(name)
        .bind(value)
        .execute(self.db())
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%id, status = %outcome.status, n = entries.len()))]
    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError> {
        // The last chunk and the status go in one statement: one round trip and one commit
        // for a run's usual log. A longer log puts the chunks before it in the same
        // transaction.
        let last = entries.len().saturating_sub(1) / LOG_CHUNK * LOG_CHUNK;
        let row = if last > 0 {
            let mut tx = self.pool.begin().await.map_err(db)?;
            insert_logs_on(&mut tx, !self.pooled, &entries[..last]).await?;
            let row = finish_statement(self.on(&mut tx), id, outcome, &entries[last..]).await?;
            tx.commit().await.map_err(db)?;
            row
        } else {
            finish_statement(self.db(), id, outcome, entries).await?
        };
        row.try_into()
    }
}

#[async_trait]
impl LeaseKeeper for PostgresStore {
    #[tracing::instrument(skip_all, fields(n = ids.len()))]
    async fn renew_leases(&self, ids: &[Uuid], until: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE executions SET lease_until = $2 WHERE id = ANY($1) AND status IN ('Running', 'Cancelling')",
        )
        .bind(ids)
        .bind(until)
        .execute(self.db())
        .await
        .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM executions WHERE status IN ('Running', 'Cancelling') AND lease_until < $1",
        )
        .bind(now)
        .fetch_all(self.db())
        .await
        .map_err(db)?)
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn claim_abandoned(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE executions SET lease_until = $3 \
             WHERE id = $1 AND status IN ('Running', 'Cancelling') AND lease_until < $2",
        )
        .bind(id)
        .bind(now)
        .bind(until)
        .execute(self.db())
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn mark_stuck(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        message: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "WITH running AS (SELECT id FROM executions WHERE id = $1 AND status IN ('Running', 'Cancelling') \
             FOR UPDATE), \
             vars AS (DELETE FROM execution_variables WHERE execution_id IN (SELECT id FROM running) \
             RETURNING name, value) \
             UPDATE executions SET status = 'Stuck', completed_at = $2, error_message = $3, \
             duration_ms = (extract(epoch FROM ($2 - started_at)) * 1000)::bigint, \
             variables = {FOLDED_VARIABLES} \
             WHERE id IN (SELECT id FROM running)"
        );
        let done = sqlx::query(&sql)
            .bind(id)
            .bind(now)
            .bind(message)
            .execute(self.db())
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl LogArchive for PostgresStore {
    #[tracing::instrument(skip_all, fields(n = entries.len()))]
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        if self.pooled {
            let mut tx = self.pool.begin().await.map_err(db)?;
            insert_logs_on(&mut tx, false, entries).await?;
            return tx.commit().await.map_err(db);
        }
        let mut conn = self.pool.acquire().await.map_err(db)?;
        insert_logs_on(&mut conn, true, entries).await
    }
}

#[cfg(test)]
mod tests {
    use super::list_connections;

    #[test]
    fn the_list_pool_gets_a_quarter_and_never_all() {
        let shares: Vec<(u32, u32)> = [2, 3, 4, 7, 8, 16, 100]
            .into_iter()
            .map(|n| (n, list_connections(n)))
            .collect();
        assert_eq!(
            shares,
            [(2, 1), (3, 1), (4, 1), (7, 1), (8, 2), (16, 4), (100, 25)]
        );
    }
}
