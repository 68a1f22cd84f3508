//! The execution store ([`ExecutionStore`](bifrost_core::store::ExecutionStore): its four role traits) on SQLite through sqlx: the embedded default for one machine.
//!
//! Concurrency: WAL journal (readers never wait for the writer), a busy timeout (a writer
//! waits for another instead of failing with "database is locked"), and every
//! read-then-write in a `BEGIN IMMEDIATE` transaction, which takes the write lock up front
//! so that it never has to upgrade a read lock (the case a busy timeout cannot resolve).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use bifrost_core::store::{
    ExecutionReader, LeaseKeeper, LogArchive, RunRecorder, RunStart, merge_variables,
};

pub(crate) use crate::error::db;
use crate::migrations;
use crate::rows::row_by_name;
use bifrost_core::error::StoreError;
use bifrost_core::identity::Scope;
use bifrost_core::model::{
    Execution, ExecutionStatus, LogEntry, LogLevel, LogMetadata, NewExecution, Outcome, StreamId,
};
use bifrost_core::query::ListQuery;

mod live_logs;
mod queue;
mod workflows;

pub use live_logs::SqliteLogStream;

/// How long a statement waits for another connection's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Executions and finished logs in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// The columns of an [`ExecutionRow`], reading the variables (`$vars`) or not.
macro_rules! execution_columns {
    ($vars:literal) => {
        concat!(
            "id, workflow_name, status, parameters, result, result_type, ",
            $vars,
            ", error_message, duration_ms, started_at, completed_at, created_at, executed_by, \
             executed_by_name, organization_id, form_id, session_id, peak_memory_bytes, \
             cpu_total_seconds, log_lines_dropped, workflow_version, parent_execution_id"
        )
    };
}

/// Every column, the variables included: those folded into the row and those set since.
const EXECUTION_COLUMNS: &str = execution_columns!(
    "variables, (SELECT json_group_object(v.name, json(v.value)) FROM execution_variables v \
     WHERE v.execution_id = executions.id) AS live_variables"
);

/// Every column but the variables, which are not read at all.
const EXECUTION_COLUMNS_NO_VARIABLES: &str =
    execution_columns!("NULL AS variables, NULL AS live_variables");

fn execution_columns(with_variables: bool) -> &'static str {
    if with_variables {
        EXECUTION_COLUMNS
    } else {
        EXECUTION_COLUMNS_NO_VARIABLES
    }
}

impl SqliteStore {
    /// Checks that `url` is an SQLite URL the driver accepts, without opening it.
    pub fn check_url(url: &str) -> Result<(), String> {
        SqliteConnectOptions::from_str(url)
            .map(drop)
            .map_err(|e| format!("invalid URL: {e}"))
    }

    /// Opens (creating if missing) the database at a `sqlite:` URL and applies the
    /// migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid URL: {e}")))?;
        // An in-memory database (`sqlite::memory:`, `?mode=memory`) is this process's
        // own: no lock file, which would otherwise be made in the working directory under
        // the driver's name for it.
        let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
        Self::open(options, in_memory).await
    }

    /// Opens (creating if missing, with its directory) the database file at `path`.
    pub async fn open_file(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        Self::open(SqliteConnectOptions::new().filename(path), false).await
    }

    async fn open(options: SqliteConnectOptions, in_memory: bool) -> Result<Self, StoreError> {
        // Every process that opens the file migrates it, one at a time (see
        // `MigrationLock`); taken before the pool so that the file is created under it too.
        let _lock = if in_memory {
            MigrationLock { _file: None }
        } else {
            MigrationLock::take(options.get_filename()).await?
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        migrations::SQLITE
            .migrator()
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self { pool })
    }

    /// The pool, as the statements shared with PostgreSQL ([`crate::access`]) run on it.
    fn db(&self) -> &SqlitePool {
        &self.pool
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The live log streams kept in the same file, visible to every process that opens it.
    pub fn log_stream(&self) -> SqliteLogStream {
        SqliteLogStream {
            pool: self.pool.clone(),
        }
    }

    /// Records a new execution: `Pending` (started at its creation, no deadline yet) or
    /// `Running`.
    async fn insert_execution(
        &self,
        new: &NewExecution,
        status: ExecutionStatus,
        start: Option<&RunStart>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO executions (id, workflow_name, status, parameters, started_at, created_at, \
             deadline_at, lease_until, executed_by, executed_by_name, organization_id, form_id, \
             session_id, parent_execution_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id_text(new.id))
        .bind(&new.workflow_name)
        .bind(status.as_str())
        .bind(new.parameters.to_string())
        .bind(micros(start.map_or(new.created_at, |s| s.started_at)))
        .bind(micros(new.created_at))
        .bind(start.map(|s| micros(s.deadline_at)))
        .bind(start.map(|s| micros(s.lease_until)))
        .bind(id_text(new.executed_by))
        .bind(&new.executed_by_name)
        .bind(new.organization_id.map(id_text))
        .bind(new.form_id.map(id_text))
        .bind(&new.session_id)
        .bind(new.parent_execution_id.map(id_text))
        .execute(&self.pool)
        .await.map_err(db)?;
        Ok(())
    }
}

/// An exclusive lock on `<database>.migrate-lock`, beside the database file, held while a
/// process migrates it: sqlx's SQLite migrator takes no lock of its own (its PostgreSQL one
/// takes an advisory lock), so processes starting together on a fresh or older file would
/// apply the same migration twice and fail (`duplicate column name`, `UNIQUE constraint
/// failed: _sqlx_migrations.version`). The lock is the operating system's (`flock`): a
/// process that dies releases it. An in-memory database needs none.
struct MigrationLock {
    /// Held open, and so locked, until dropped; `None` for an in-memory database.
    _file: Option<std::fs::File>,
}

impl MigrationLock {
    async fn take(database: &Path) -> Result<Self, StoreError> {
        let name = database.as_os_str();
        if name.is_empty() || name == ":memory:" {
            return Ok(Self { _file: None });
        }
        let mut lock_path = database.as_os_str().to_owned();
        lock_path.push(".migrate-lock");
        let path = std::path::PathBuf::from(lock_path);
        let file = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            file.lock()
                .map_err(|e| format!("lock {}: {e}", path.display()))?;
            Ok::<_, String>(file)
        })
        .await
        .map_err(|e| StoreError::Migration(format!("the migration lock: {e}")))?
        .map_err(|e| StoreError::Unavailable(format!("cannot take the migration lock: {e}")))?;
        Ok(Self { _file: Some(file) })
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Database(format!("timestamp {v} out of range")))
}

fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::try_parse(s).map_err(|e| StoreError::Database(format!("stored id {s:?}: {e}")))
}

fn json(s: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Database(format!("stored JSON: {e}")))
}

/// An inclusive start as the integer columns `(stream_ms, stream_seq)`; `None` when no
/// stored id can be at or after it.
fn stream_start(start: StreamId) -> Option<(i64, i64)> {
    match (i64::try_from(start.ms), i64::try_from(start.seq)) {
        (Ok(ms), Ok(seq)) => Some((ms, seq)),
        (Ok(ms), Err(_)) if ms < i64::MAX => Some((ms + 1, 0)),
        _ => None,
    }
}

fn id_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

row_by_name! {
    struct ExecutionRow from sqlx::sqlite::SqliteRow {
        id: String,
        workflow_name: String,
        status: String,
        parameters: String,
        result: Option<String>,
        result_type: Option<String>,
        variables: Option<String>,
        live_variables: Option<String>,
        error_message: Option<String>,
        duration_ms: Option<i64>,
        started_at: Option<i64>,
        completed_at: Option<i64>,
        created_at: i64,
        executed_by: String,
        executed_by_name: String,
        organization_id: Option<String>,
        form_id: Option<String>,
        session_id: Option<String>,
        parent_execution_id: Option<String>,
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
            id: uuid(&r.id)?,
            workflow_name: r.workflow_name,
            status: r
                .status
                .parse()
                .map_err(|e: bifrost_core::model::ParseStatusError| {
                    StoreError::Database(e.to_string())
                })?,
            parameters: json(&r.parameters)?,
            result: r.result.as_deref().map(json).transpose()?,
            result_type: r.result_type,
            error_message: r.error_message,
            duration_ms: r.duration_ms,
            started_at: r.started_at.map(from_micros).transpose()?,
            completed_at: r.completed_at.map(from_micros).transpose()?,
            created_at: from_micros(r.created_at)?,
            logs: None,
            variables: merge_variables(
                r.variables.as_deref().map(json).transpose()?,
                r.live_variables.as_deref().map(json).transpose()?,
            ),
            session_id: r.session_id,
            peak_memory_bytes: r.peak_memory_bytes,
            cpu_total_seconds: r.cpu_total_seconds,
            log_lines_dropped: r.log_lines_dropped,
            workflow_version: r.workflow_version,
            executed_by: uuid(&r.executed_by)?,
            executed_by_name: r.executed_by_name,
            organization_id: r.organization_id.as_deref().map(uuid).transpose()?,
            form_id: r.form_id.as_deref().map(uuid).transpose()?,
            parent_execution_id: r.parent_execution_id.as_deref().map(uuid).transpose()?,
        })
    }
}

row_by_name! {
    struct LogRow from sqlx::sqlite::SqliteRow {
        execution_id: String,
        level: String,
        message: String,
        log_metadata: Option<String>,
        timestamp: i64,
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
            execution_id: uuid(&r.execution_id)?,
            level: r
                .level
                .parse::<LogLevel>()
                .map_err(|e| StoreError::Database(e.to_string()))?,
            message: r.message,
            metadata: r
                .log_metadata
                .as_deref()
                .map(|m| {
                    LogMetadata::parse(m).ok_or_else(|| {
                        StoreError::Database(format!(
                            "stored log metadata {m:?} is not a JSON object"
                        ))
                    })
                })
                .transpose()?,
            timestamp: from_micros(r.timestamp)?,
        })
    }
}

/// SQLite keeps ids as text and times as integer microseconds; the status is text.
struct SqliteDialect;

impl crate::list::Dialect for SqliteDialect {
    type Db = Sqlite;
    type Id = String;
    type Time = i64;
    type Json = String;
    const TRUE: &'static str = "1";
    const STATUS_CAST: &'static str = "";

    fn id(stored: String) -> Result<Uuid, StoreError> {
        uuid(&stored)
    }

    fn time(stored: i64) -> Result<DateTime<Utc>, StoreError> {
        from_micros(stored)
    }

    fn json(stored: String) -> Result<serde_json::Value, StoreError> {
        json(&stored)
    }

    fn bind_id(qb: &mut QueryBuilder<'_, Sqlite>, id: Uuid) {
        qb.push_bind(id_text(id));
    }

    fn bind_time(qb: &mut QueryBuilder<'_, Sqlite>, at: DateTime<Utc>) {
        qb.push_bind(micros(at));
    }

    fn bind_text(qb: &mut QueryBuilder<'_, Sqlite>, text: String) {
        qb.push_bind(text);
    }

    fn bind_int(qb: &mut QueryBuilder<'_, Sqlite>, n: i64) {
        qb.push_bind(n);
    }

    fn bind_opt_id(qb: &mut QueryBuilder<'_, Sqlite>, id: Option<Uuid>) {
        qb.push_bind(id.map(id_text));
    }

    fn bind_opt_time(qb: &mut QueryBuilder<'_, Sqlite>, at: Option<DateTime<Utc>>) {
        qb.push_bind(at.map(micros));
    }

    fn bind_bool(qb: &mut QueryBuilder<'_, Sqlite>, b: bool) {
        qb.push_bind(b);
    }

    fn bind_json(qb: &mut QueryBuilder<'_, Sqlite>, v: &serde_json::Value) {
        qb.push_bind(v.to_string());
    }
}

crate::access::access_store!(SqliteStore, SqliteDialect);

fn affected(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Folds the variables of `id` set one at a time into its row and removes them; inside
/// the transaction that ends the execution.
async fn fold_variables(conn: &mut SqliteConnection, id: &str) -> Result<(), StoreError> {
    let live: Vec<(String, String)> =
        sqlx::query_as("SELECT name, value FROM execution_variables WHERE execution_id = ?")
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
    if live.is_empty() {
        return Ok(());
    }
    let folded: Option<Option<String>> =
        sqlx::query_scalar("SELECT variables FROM executions WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    let mut variables = match folded.flatten().as_deref().map(json).transpose()? {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    for (name, value) in live {
        variables.insert(name, json(&value)?);
    }
    sqlx::query("UPDATE executions SET variables = ? WHERE id = ?")
        .bind(serde_json::Value::Object(variables).to_string())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    sqlx::query("DELETE FROM execution_variables WHERE execution_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Writes the final status and figures of a run (its variables folded first).
async fn finish_on(
    conn: &mut SqliteConnection,
    id: Uuid,
    outcome: &Outcome,
) -> Result<(), StoreError> {
    let id = id_text(id);
    fold_variables(conn, &id).await?;
    let done = sqlx::query(
        "UPDATE executions SET status = ?, result = ?, result_type = ?, error_message = ?, \
         duration_ms = ?, completed_at = ?, peak_memory_bytes = ?, cpu_total_seconds = ?, \
         log_lines_dropped = ? WHERE id = ?",
    )
    .bind(outcome.status.as_str())
    .bind(outcome.result.as_ref().map(|r| r.to_string()))
    .bind(&outcome.result_type)
    .bind(&outcome.error_message)
    .bind(outcome.duration_ms)
    .bind(micros(outcome.completed_at))
    .bind(outcome.peak_memory_bytes)
    .bind(outcome.cpu_total_seconds)
    .bind((outcome.log_lines_dropped > 0).then_some(outcome.log_lines_dropped))
    .bind(&id)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    affected(done.rows_affected())
}

/// One execution, read on `conn`.
async fn fetch_on(
    conn: &mut SqliteConnection,
    id: Uuid,
    with_variables: bool,
) -> Result<Execution, StoreError> {
    let sql = format!(
        "SELECT {} FROM executions WHERE id = ?",
        execution_columns(with_variables)
    );
    let row: ExecutionRow = sqlx::query_as(&sql)
        .bind(id_text(id))
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    row.try_into()
}

/// Rows in one multi-row insert: 9 parameters each, within SQLite's 32,766.
const LOG_CHUNK: usize = 1000;

/// Stores log entries on `conn` (inside a transaction), numbering them after what each
/// execution already has: one index lookup per execution, whatever it already has.
async fn insert_logs_on(
    conn: &mut SqliteConnection,
    entries: &[LogEntry],
) -> Result<(), StoreError> {
    let mut next_sequence = std::collections::HashMap::<Uuid, i64>::new();
    for chunk in entries.chunks(LOG_CHUNK) {
        for e in chunk {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                next_sequence.entry(e.execution_id)
            {
                let max: Option<i64> = sqlx::query_scalar(
                    "SELECT max(sequence) FROM execution_logs WHERE execution_id = ?",
                )
                .bind(id_text(e.execution_id))
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
                slot.insert(max.map_or(0, |m| m + 1));
            }
        }
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO execution_logs (execution_id, level, message, log_metadata, \
             \"timestamp\", sequence, stream_id, stream_ms, stream_seq) ",
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for e in chunk {
            let seq = next_sequence
                .get_mut(&e.execution_id)
                .expect("filled above");
            let (Ok(ms), Ok(stream_seq)) = (i64::try_from(e.id.ms), i64::try_from(e.id.seq)) else {
                return Err(StoreError::Database(format!(
                    "stream id {} does not fit in an integer",
                    e.id
                )));
            };
            rows.push((e, *seq, ms, stream_seq));
            *seq += 1;
        }
        qb.push_values(rows, |mut b, (e, sequence, ms, seq)| {
            b.push_bind(id_text(e.execution_id))
                .push_bind(e.level.as_str())
                .push_bind(e.message.as_str())
                .push_bind(e.metadata.as_ref().map(|m| m.as_str()))
                .push_bind(micros(e.timestamp))
                .push_bind(sequence)
                .push_bind(e.id.to_string())
                .push_bind(ms)
                .push_bind(seq);
        });
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

#[async_trait]
impl ExecutionReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(%id))]
    async fn fetch(&self, id: Uuid, with_variables: bool) -> Result<Execution, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch_on(&mut conn, id, with_variables).await
    }

    #[tracing::instrument(skip_all)]
    async fn list(
        &self,
        scope: &Scope,
        query: &ListQuery,
        with_variables: bool,
    ) -> Result<Vec<Execution>, StoreError> {
        let mut qb = crate::list::list_query::<SqliteDialect>(
            "",
            execution_columns(with_variables),
            scope,
            query,
        );
        let rows: Vec<ExecutionRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
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
        let Some((ms, seq)) = stream_start(start) else {
            return Ok(Vec::new());
        };
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT execution_id, level, message, log_metadata, \"timestamp\", stream_ms, stream_seq \
             FROM execution_logs WHERE execution_id = ? AND (stream_ms, stream_seq) >= (?, ?) \
             ORDER BY stream_ms, stream_seq LIMIT ?",
        )
        .bind(id_text(execution_id))
        .bind(ms)
        .bind(seq)
        .bind(i64::from(count))
        .fetch_all(&self.pool)
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
             FROM execution_logs WHERE execution_id = ? \
             ORDER BY stream_ms DESC, stream_seq DESC LIMIT ?",
        )
        .bind(id_text(execution_id))
        .bind(i64::from(count))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.reverse();
        rows.into_iter().map(LogEntry::try_from).collect()
    }
}

#[async_trait]
impl RunRecorder for SqliteStore {
    #[tracing::instrument(skip_all, fields(id = %new.id))]
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError> {
        self.insert_execution(new, ExecutionStatus::Pending, None)
            .await
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE executions SET status = CASE WHEN status = 'Cancelling' THEN status ELSE 'Running' END, started_at = ?, deadline_at = ?, \
             lease_until = ? WHERE id = ?",
        )
        .bind(micros(start.started_at))
        .bind(micros(start.deadline_at))
        .bind(micros(start.lease_until))
        .bind(id_text(id))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        affected(done.rows_affected())
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
             SELECT id, ?2, ?3 FROM executions WHERE id = ?1 \
             ON CONFLICT (execution_id, name) DO UPDATE SET value = excluded.value",
        )
        .bind(id_text(id))
        .bind(name)
        .bind(value.to_string())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        affected(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(%id, status = %outcome.status, n = entries.len()))]
    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        insert_logs_on(&mut tx, entries).await?;
        finish_on(&mut tx, id, outcome).await?;
        tx.commit().await.map_err(db)?;
        // Read after the commit: other executions' writers wait for the lock no longer
        // than the writes take.
        self.fetch(id, true).await
    }
}

#[async_trait]
impl LeaseKeeper for SqliteStore {
    #[tracing::instrument(skip_all, fields(n = ids.len()))]
    async fn renew_leases(&self, ids: &[Uuid], until: DateTime<Utc>) -> Result<(), StoreError> {
        for chunk in ids.chunks(LOG_CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new("UPDATE executions SET lease_until = ");
            qb.push_bind(micros(until))
                .push(" WHERE status IN ('Running', 'Cancelling') AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id_text(*id));
            }
            qb.push(")");
            qb.build().execute(&self.pool).await.map_err(db)?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM executions WHERE status IN ('Running', 'Cancelling') AND lease_until < ?",
        )
        .bind(micros(now))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        ids.iter().map(|s| uuid(s)).collect()
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn claim_abandoned(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE executions SET lease_until = ?3 \
             WHERE id = ?1 AND status IN ('Running', 'Cancelling') AND lease_until < ?2",
        )
        .bind(id_text(id))
        .bind(micros(now))
        .bind(micros(until))
        .execute(&self.pool)
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let id = id_text(id);
        let running: Option<String> = sqlx::query_scalar(
            "SELECT id FROM executions WHERE id = ? AND status IN ('Running', 'Cancelling')",
        )
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if running.is_none() {
            return Ok(false);
        }
        fold_variables(&mut tx, &id).await?;
        sqlx::query(
            "UPDATE executions SET status = 'Stuck', completed_at = ?2, error_message = ?3, \
             duration_ms = (?2 - started_at) / 1000 WHERE id = ?1",
        )
        .bind(&id)
        .bind(micros(now))
        .bind(message)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }
}

#[async_trait]
impl LogArchive for SqliteStore {
    #[tracing::instrument(skip_all, fields(n = entries.len()))]
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        insert_logs_on(&mut tx, entries).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
