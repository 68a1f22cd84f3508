//! [`ExecutionStore`] on SQLite through sqlx: the embedded default for one machine.
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
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, QueryBuilder, Sqlite};
use uuid::Uuid;

use super::ExecutionStore;
use crate::error::StoreError;
use crate::identity::Scope;
use crate::model::{
    Execution, ExecutionStatus, LogEntry, LogLevel, NewExecution, Outcome, StreamId,
};
use crate::query::ListQuery;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another connection's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Executions and finished logs in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const EXECUTION_COLUMNS: &str = "id, workflow_name, status, parameters, result, result_type, \
    variables, error_message, duration_ms, started_at, completed_at, created_at, executed_by, \
    executed_by_name, organization_id, form_id, session_id, peak_memory_bytes, cpu_total_seconds, \
    log_lines_dropped";

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite:` URL and applies the
    /// migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid URL: {e}")))?;
        Self::open(options).await
    }

    /// Opens (creating if missing, with its directory) the database file at `path`.
    pub async fn open_file(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        Self::open(SqliteConnectOptions::new().filename(path)).await
    }

    async fn open(options: SqliteConnectOptions) -> Result<Self, StoreError> {
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
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Records a new execution: `Pending` (started at its creation, no deadline yet) or
    /// `Running`.
    async fn insert_execution(
        &self,
        new: &NewExecution,
        status: ExecutionStatus,
        started_at: DateTime<Utc>,
        deadline_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO executions (id, workflow_name, status, parameters, started_at, created_at, \
             deadline_at, executed_by, executed_by_name, organization_id, form_id, session_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id_text(new.id))
        .bind(&new.workflow_name)
        .bind(status.as_str())
        .bind(new.parameters.to_string())
        .bind(micros(started_at))
        .bind(micros(new.created_at))
        .bind(deadline_at.map(micros))
        .bind(id_text(new.executed_by))
        .bind(&new.executed_by_name)
        .bind(new.organization_id.map(id_text))
        .bind(new.form_id.map(id_text))
        .bind(&new.session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
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

fn id_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

#[derive(FromRow)]
struct ExecutionRow {
    id: String,
    workflow_name: String,
    status: String,
    parameters: String,
    result: Option<String>,
    result_type: Option<String>,
    variables: Option<String>,
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
    peak_memory_bytes: Option<i64>,
    cpu_total_seconds: Option<f64>,
    log_lines_dropped: Option<i64>,
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
                .map_err(|e: crate::model::ParseStatusError| StoreError::Database(e.to_string()))?,
            parameters: json(&r.parameters)?,
            result: r.result.as_deref().map(json).transpose()?,
            result_type: r.result_type,
            error_message: r.error_message,
            duration_ms: r.duration_ms,
            started_at: r.started_at.map(from_micros).transpose()?,
            completed_at: r.completed_at.map(from_micros).transpose()?,
            created_at: from_micros(r.created_at)?,
            logs: None,
            variables: r.variables.as_deref().map(json).transpose()?,
            session_id: r.session_id,
            peak_memory_bytes: r.peak_memory_bytes,
            cpu_total_seconds: r.cpu_total_seconds,
            log_lines_dropped: r.log_lines_dropped,
            executed_by: uuid(&r.executed_by)?,
            executed_by_name: r.executed_by_name,
            organization_id: r.organization_id.as_deref().map(uuid).transpose()?,
            form_id: r.form_id.as_deref().map(uuid).transpose()?,
        })
    }
}

#[derive(FromRow)]
struct LogRow {
    execution_id: String,
    level: String,
    message: String,
    log_metadata: Option<String>,
    timestamp: i64,
    stream_ms: i64,
    stream_seq: i64,
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
            metadata: r.log_metadata.as_deref().map(json).transpose()?,
            timestamp: from_micros(r.timestamp)?,
        })
    }
}

fn push_scope(qb: &mut QueryBuilder<'_, Sqlite>, scope: &Scope) {
    match *scope {
        Scope::All => {
            qb.push("1");
        }
        Scope::Organization(org) => {
            qb.push("organization_id = ").push_bind(id_text(org));
        }
        Scope::OwnExecutions {
            user_id,
            organization_id,
        } => {
            qb.push("executed_by = ").push_bind(id_text(user_id));
            match organization_id {
                Some(org) => qb.push(" AND organization_id = ").push_bind(id_text(org)),
                None => qb.push(" AND organization_id IS NULL"),
            };
        }
    }
}

fn affected(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl ExecutionStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(id = %new.id))]
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError> {
        self.insert_execution(new, ExecutionStatus::Pending, new.created_at, None)
            .await
    }

    #[tracing::instrument(skip_all, fields(%new.id))]
    async fn create_running(
        &self,
        new: &NewExecution,
        started_at: DateTime<Utc>,
        deadline_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.insert_execution(new, ExecutionStatus::Running, started_at, Some(deadline_at))
            .await
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn mark_running(
        &self,
        id: Uuid,
        started_at: DateTime<Utc>,
        deadline_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE executions SET status = 'Running', started_at = ?, deadline_at = ? WHERE id = ?",
        )
        .bind(micros(started_at))
        .bind(micros(deadline_at))
        .bind(id_text(id))
        .execute(&self.pool)
        .await?;
        affected(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(%id, status = %outcome.status))]
    async fn finish(&self, id: Uuid, outcome: &Outcome) -> Result<(), StoreError> {
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
        .bind(id_text(id))
        .execute(&self.pool)
        .await?;
        affected(done.rows_affected())
    }

    #[tracing::instrument(skip_all)]
    async fn abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM executions WHERE status = 'Running' AND deadline_at < ?",
        )
        .bind(micros(now))
        .fetch_all(&self.pool)
        .await?;
        ids.iter().map(|s| uuid(s)).collect()
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn mark_stuck(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        message: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE executions SET status = 'Stuck', completed_at = ?2, error_message = ?3, \
             duration_ms = (?2 - started_at) / 1000 \
             WHERE id = ?1 AND status = 'Running' AND deadline_at < ?2",
        )
        .bind(id_text(id))
        .bind(micros(now))
        .bind(message)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn set_variable(
        &self,
        id: Uuid,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current: Option<Option<String>> =
            sqlx::query_scalar("SELECT variables FROM executions WHERE id = ?")
                .bind(id_text(id))
                .fetch_optional(&mut *tx)
                .await?;
        let Some(current) = current else {
            return Err(StoreError::NotFound);
        };
        let mut variables = match current.as_deref().map(json).transpose()? {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        variables.insert(name.to_owned(), value.clone());
        sqlx::query("UPDATE executions SET variables = ? WHERE id = ?")
            .bind(serde_json::Value::Object(variables).to_string())
            .bind(id_text(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn get(&self, id: Uuid) -> Result<Execution, StoreError> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?");
        let row: ExecutionRow = sqlx::query_as(&sql)
            .bind(id_text(id))
            .fetch_one(&self.pool)
            .await?;
        row.try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, scope: &Scope, query: &ListQuery) -> Result<Vec<Execution>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE "
        ));
        push_scope(&mut qb, scope);
        if let Some(name) = &query.workflow_name {
            qb.push(" AND workflow_name = ").push_bind(name.clone());
        }
        if let Some(status) = query.status {
            qb.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(from) = query.started_from {
            qb.push(" AND started_at >= ").push_bind(micros(from));
        }
        if let Some(until) = query.started_until {
            qb.push(" AND started_at <= ").push_bind(micros(until));
        }
        if let Some(after) = &query.after {
            qb.push(" AND (started_at, id) < (")
                .push_bind(after.started_at_micros)
                .push(", ")
                .push_bind(id_text(after.id))
                .push(")");
        }
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows: Vec<ExecutionRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(Execution::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(n = entries.len()))]
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Sequence numbers continue per execution from what is already stored.
        let mut next_sequence = std::collections::HashMap::<Uuid, i64>::new();
        for chunk in entries.chunks(1000) {
            for e in chunk {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    next_sequence.entry(e.execution_id)
                {
                    let max: Option<i64> = sqlx::query_scalar(
                        "SELECT max(sequence) FROM execution_logs WHERE execution_id = ?",
                    )
                    .bind(id_text(e.execution_id))
                    .fetch_one(&mut *tx)
                    .await?;
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
                rows.push((e, *seq));
                *seq += 1;
            }
            let mut bad = None;
            qb.push_values(rows, |mut b, (e, sequence)| {
                let (ms, seq) = match (i64::try_from(e.id.ms), i64::try_from(e.id.seq)) {
                    (Ok(ms), Ok(seq)) => (ms, seq),
                    _ => {
                        bad = Some(e.id);
                        (0, 0)
                    }
                };
                b.push_bind(id_text(e.execution_id))
                    .push_bind(e.level.as_str())
                    .push_bind(e.message.clone())
                    .push_bind(e.metadata.as_ref().map(|m| m.to_string()))
                    .push_bind(micros(e.timestamp))
                    .push_bind(sequence)
                    .push_bind(e.id.to_string())
                    .push_bind(ms)
                    .push_bind(seq);
            });
            if let Some(id) = bad {
                return Err(StoreError::Database(format!(
                    "stream id {id} does not fit in an integer"
                )));
            }
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn read_logs(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let (ms, seq) = match (i64::try_from(start.ms), i64::try_from(start.seq)) {
            (Ok(ms), Ok(seq)) => (ms, seq),
            (Ok(ms), Err(_)) if ms < i64::MAX => (ms + 1, 0),
            _ => return Ok(Vec::new()),
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
        .await?;
        rows.into_iter().map(LogEntry::try_from).collect()
    }
}
