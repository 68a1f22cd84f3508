//! The execution store: where executions and finished logs live.
//!
//! SQL lives only in the implementations. Everything above this trait (host functions,
//! runner, CLI) works the same whichever backend runs.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use uuid::Uuid;

pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;
use crate::error::StoreError;
use crate::identity::Scope;
use crate::model::{Execution, LogEntry, NewExecution, Outcome, StreamId};
use crate::query::ListQuery;

/// Executions and their persisted logs.
#[async_trait]
pub trait ExecutionStore: Send + Sync + 'static {
    /// Records a new execution as `Pending`.
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError>;

    /// Marks a pending execution `Running`, sets `started_at`, and records when it must
    /// have ended (`deadline_at`, for [`abandoned`](Self::abandoned)).
    async fn mark_running(
        &self,
        id: Uuid,
        started_at: chrono::DateTime<chrono::Utc>,
        deadline_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError>;

    /// Records a new execution directly as `Running` (its runner had an instance slot
    /// free): what [`create`](Self::create) then [`mark_running`](Self::mark_running) do,
    /// in one write where the backend can.
    async fn create_running(
        &self,
        new: &NewExecution,
        started_at: chrono::DateTime<chrono::Utc>,
        deadline_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.create(new).await?;
        self.mark_running(new.id, started_at, deadline_at).await
    }

    /// Ends a run: stores its log entries, writes its final status and figures, and
    /// returns the execution as stored (without logs). What
    /// [`insert_logs`](Self::insert_logs), [`finish`](Self::finish) and
    /// [`get`](Self::get) do, in one transaction where the backend can: a final status
    /// still means the logs are stored.
    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError> {
        self.insert_logs(entries).await?;
        self.finish(id, outcome).await?;
        self.get(id).await
    }

    /// Executions still `Running` whose `deadline_at` is before `now`: their runner went
    /// away.
    async fn abandoned(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Uuid>, StoreError>;

    /// Marks an abandoned execution `Stuck` with `message` as its error, if it is still
    /// `Running` past its deadline at `now`; `false` if it is not (its runner finished it,
    /// or another sweep did).
    async fn mark_stuck(
        &self,
        id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
        message: &str,
    ) -> Result<bool, StoreError>;

    /// Writes the final status and figures of a run.
    async fn finish(&self, id: Uuid, outcome: &Outcome) -> Result<(), StoreError>;

    /// Sets one runtime variable (a key of the `variables` JSON object).
    async fn set_variable(
        &self,
        id: Uuid,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// One execution, unredacted; [`StoreError::NotFound`] if there is none.
    async fn get(&self, id: Uuid) -> Result<Execution, StoreError>;

    /// Executions in `scope` matching `query`, newest first (`started_at` then id,
    /// descending), at most `query.limit`, after `query.after` if set.
    async fn list(&self, scope: &Scope, query: &ListQuery) -> Result<Vec<Execution>, StoreError>;

    /// Stores log entries moved from the live stream. Entries already stored (same
    /// execution and id) are kept once, so a repeated move is harmless.
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError>;

    /// Persisted log entries of an execution with id >= `start`, oldest first.
    async fn read_logs(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError>;
}
