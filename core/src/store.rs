//! The execution store: where executions and finished logs live.
//!
//! SQL lives only in the implementations (`bifrost-sql`: PostgreSQL and SQLite); the
//! [`MemoryStore`](crate::memory::MemoryStore) holds executions in memory. Everything above
//! this trait (host functions, runner, CLI, the virtual provider) works the same whichever
//! store runs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::identity::Scope;
use crate::model::{Execution, LogEntry, NewExecution, Outcome, StreamId};
use crate::query::ListQuery;

/// When a run started, when it must end, and until when its runner vouches for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStart {
    /// `started_at`.
    pub started_at: DateTime<Utc>,
    /// When the run must have ended (its deadline).
    pub deadline_at: DateTime<Utc>,
    /// The lease: until when the runner vouches for the execution. A live runner renews
    /// it ([`ExecutionStore::renew_leases`]); past it, a sweep may mark the execution
    /// `Stuck` ([`ExecutionStore::abandoned`]).
    pub lease_until: DateTime<Utc>,
}

/// Executions and their persisted logs.
#[async_trait]
pub trait ExecutionStore: Send + Sync + 'static {
    /// Records a new execution as `Pending`.
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError>;

    /// Marks a pending execution `Running`, with its start, deadline and lease.
    async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError>;

    /// Records a new execution directly as `Running` (its runner had an instance slot
    /// free): what [`create`](Self::create) then [`mark_running`](Self::mark_running) do,
    /// in one write, so that no reader sees it `Pending` and no failure leaves it so.
    async fn create_running(&self, new: &NewExecution, start: &RunStart) -> Result<(), StoreError>;

    /// Extends the lease of those of `ids` that are still `Running` to `until`: the
    /// heartbeat of a live runner.
    async fn renew_leases(&self, ids: &[Uuid], until: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends a run: stores its log entries, writes its final status and figures, and
    /// returns the execution as stored (without logs), in one transaction: a final status
    /// means the logs are stored.
    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError>;

    /// Executions still `Running` whose lease ended before `now`: their runner went away.
    async fn abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError>;

    /// Takes over the lease of an abandoned execution until `until`, for the sweep that
    /// will mark it `Stuck`; `false` if it is not abandoned at `now` (its runner renewed
    /// the lease or finished it, or another sweep took it first).
    async fn claim_abandoned(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Marks a `Running` execution `Stuck` with `message` as its error, completed at
    /// `now`; `false` if it is no longer `Running`.
    async fn mark_stuck(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        message: &str,
    ) -> Result<bool, StoreError>;

    /// Writes the final status and figures of a run.
    async fn finish(&self, id: Uuid, outcome: &Outcome) -> Result<(), StoreError>;

    /// Sets one runtime variable of an execution, writing that variable alone.
    async fn set_variable(
        &self,
        id: Uuid,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// One execution; its `variables` only `with_variables` (they are not even read
    /// otherwise). [`StoreError::NotFound`] if there is none.
    async fn fetch(&self, id: Uuid, with_variables: bool) -> Result<Execution, StoreError>;

    /// One execution, unredacted; [`StoreError::NotFound`] if there is none.
    async fn get(&self, id: Uuid) -> Result<Execution, StoreError> {
        self.fetch(id, true).await
    }

    /// Executions in `scope` matching `query`, newest first (`started_at` then id,
    /// descending), at most `query.limit`, after `query.after` if set; their `variables`
    /// only `with_variables`.
    async fn list(
        &self,
        scope: &Scope,
        query: &ListQuery,
        with_variables: bool,
    ) -> Result<Vec<Execution>, StoreError>;

    /// Stores log entries moved from the live stream. Entries already stored (same
    /// execution and id) are kept once, so a repeated move is harmless. The work is
    /// linear in the number of entries, whatever the execution already has.
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError>;

    /// Persisted log entries of an execution with id >= `start`, oldest first.
    async fn read_logs(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError>;
}

/// The runtime variables of an execution as readers see them: those folded into the
/// row when it ended (`folded`), overlaid by those set one at a time and not folded yet
/// (`live`). `None` when there are none.
pub fn merge_variables(
    folded: Option<serde_json::Value>,
    live: Option<serde_json::Value>,
) -> Option<serde_json::Value> {
    use serde_json::Value;
    match (folded, live) {
        (folded, None) => folded,
        (folded, Some(Value::Object(live))) if live.is_empty() => folded,
        (Some(Value::Object(mut folded)), Some(Value::Object(live))) => {
            folded.extend(live);
            Some(Value::Object(folded))
        }
        (_, live) => live,
    }
}
