//! [`LogStream`] in the SQLite file: the live lines of the embedded default, in table
//! `live_logs` of the same file as the store, so that every process that opens the file
//! sees a running execution's lines (a second CLI, `--follow`, another `serve`), with the
//! ids, inclusive starts, counts and move at the end of a Redis stream. The runner's log
//! writer appends in batches, one transaction each. There is no notification across
//! processes: a follower polls ([`LogStream::wait`]'s default).

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use uuid::Uuid;

use bifrost_core::error::{LogStreamError, StoreError};
use bifrost_core::logs::LogStream;
use bifrost_core::model::{LogEntry, StreamId};

use super::{LogRow, id_text, micros, stream_start};

/// Entries per insert statement (7 values each, under SQLite's bound-parameter limit).
const CHUNK: usize = 1000;

/// Live log streams in an SQLite file; from [`SqliteStore::log_stream`](super::SqliteStore::log_stream).
#[derive(Debug, Clone)]
pub struct SqliteLogStream {
    pub(super) pool: SqlitePool,
}

fn unavailable(e: sqlx::Error) -> LogStreamError {
    match super::db(e) {
        StoreError::Unavailable(m) | StoreError::Database(m) | StoreError::Migration(m) => {
            LogStreamError::Unavailable(m)
        }
        other => LogStreamError::Unavailable(other.to_string()),
    }
}

fn malformed(e: StoreError) -> LogStreamError {
    LogStreamError::Malformed(e.to_string())
}

fn id_parts(id: StreamId) -> Result<(i64, i64), LogStreamError> {
    match (i64::try_from(id.ms), i64::try_from(id.seq)) {
        (Ok(ms), Ok(seq)) => Ok((ms, seq)),
        _ => Err(LogStreamError::Malformed(format!(
            "stream id {id} does not fit in an integer"
        ))),
    }
}

async fn last_id_on(
    conn: &mut sqlx::SqliteConnection,
    execution_id: Uuid,
) -> Result<Option<StreamId>, LogStreamError> {
    let last: Option<(i64, i64)> = sqlx::query_as(
        "SELECT stream_ms, stream_seq FROM live_logs WHERE execution_id = ? \
         ORDER BY stream_ms DESC, stream_seq DESC LIMIT 1",
    )
    .bind(id_text(execution_id))
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable)?;
    Ok(last.map(|(ms, seq)| StreamId {
        ms: ms as u64,
        seq: seq as u64,
    }))
}

#[async_trait]
impl LogStream for SqliteLogStream {
    #[tracing::instrument(skip_all, fields(n = entries.len()))]
    async fn append(&self, entries: &[LogEntry]) -> Result<(), LogStreamError> {
        if entries.is_empty() {
            return Ok(());
        }
        // The write lock from the start: the check of the last id and the insert are one.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)?;
        let mut last = std::collections::HashMap::<Uuid, Option<StreamId>>::new();
        for e in entries {
            let previous = match last.get(&e.execution_id) {
                Some(previous) => *previous,
                None => last_id_on(&mut tx, e.execution_id).await?,
            };
            if previous.is_some_and(|p| e.id <= p) {
                return Err(LogStreamError::Malformed(format!(
                    "entry id {} is not after the stream's last id",
                    e.id
                )));
            }
            id_parts(e.id)?;
            last.insert(e.execution_id, Some(e.id));
        }
        for chunk in entries.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO live_logs (execution_id, stream_ms, stream_seq, level, message, \
                 log_metadata, \"timestamp\") ",
            );
            qb.push_values(chunk, |mut b, e| {
                let (ms, seq) = id_parts(e.id).expect("checked above");
                b.push_bind(id_text(e.execution_id))
                    .push_bind(ms)
                    .push_bind(seq)
                    .push_bind(e.level.as_str())
                    .push_bind(e.message.as_str())
                    .push_bind(e.metadata.as_ref().map(|m| m.as_str()))
                    .push_bind(micros(e.timestamp));
            });
            qb.build().execute(&mut *tx).await.map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn last_id(&self, execution_id: Uuid) -> Result<Option<StreamId>, LogStreamError> {
        let mut conn = self.pool.acquire().await.map_err(unavailable)?;
        last_id_on(&mut conn, execution_id).await
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn read(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError> {
        let Some((ms, seq)) = stream_start(start) else {
            return Ok(Vec::new());
        };
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT execution_id, level, message, log_metadata, \"timestamp\", stream_ms, \
             stream_seq FROM live_logs WHERE execution_id = ? AND (stream_ms, stream_seq) >= (?, ?) \
             ORDER BY stream_ms, stream_seq LIMIT ?",
        )
        .bind(id_text(execution_id))
        .bind(ms)
        .bind(seq)
        .bind(i64::from(count))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|r| LogEntry::try_from(r).map_err(malformed))
            .collect()
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn read_last(
        &self,
        execution_id: Uuid,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError> {
        let mut rows: Vec<LogRow> = sqlx::query_as(
            "SELECT execution_id, level, message, log_metadata, \"timestamp\", stream_ms, \
             stream_seq FROM live_logs WHERE execution_id = ? \
             ORDER BY stream_ms DESC, stream_seq DESC LIMIT ?",
        )
        .bind(id_text(execution_id))
        .bind(i64::from(count))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.reverse();
        rows.into_iter()
            .map(|r| LogEntry::try_from(r).map_err(malformed))
            .collect()
    }

    #[tracing::instrument(skip_all, fields(%execution_id))]
    async fn delete(&self, execution_id: Uuid) -> Result<(), LogStreamError> {
        sqlx::query("DELETE FROM live_logs WHERE execution_id = ?")
            .bind(id_text(execution_id))
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The lines live in the store's file: one writer for both.
    fn shares_store_writer(&self) -> bool {
        true
    }
}
