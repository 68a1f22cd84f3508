//! The execution store: where executions and finished logs live, as four roles
//! ([`ExecutionReader`], [`RunRecorder`], [`LeaseKeeper`], [`LogArchive`]) that together
//! make an [`ExecutionStore`].
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
    /// it ([`LeaseKeeper::renew_leases`]); past it, a sweep may mark the execution
    /// `Stuck` ([`LeaseKeeper::abandoned`]).
    pub lease_until: DateTime<Utc>,
}

/// Reading executions and their stored logs: what the executions API answers from (the
/// guests' `list`, `get` and `get-current-logs`, the command line's queries).
#[async_trait]
pub trait ExecutionReader: Send + Sync + 'static {
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

    /// Persisted log entries of an execution with id >= `start`, oldest first.
    async fn read_logs(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError>;

    /// The last `count` persisted log entries of an execution, oldest first, read from
    /// the end.
    async fn read_last_logs(
        &self,
        execution_id: Uuid,
        count: u32,
    ) -> Result<Vec<LogEntry>, StoreError>;
}

/// Recording one run: its row, its variables as the workflow sets them, and its end with
/// its log. The runner writes these (retrying a store that is briefly unavailable).
#[async_trait]
pub trait RunRecorder: Send + Sync + 'static {
    /// Records a new execution as `Pending`.
    async fn create(&self, new: &NewExecution) -> Result<(), StoreError>;

    /// Marks a pending execution `Running`, with its start, deadline and lease.
    async fn mark_running(&self, id: Uuid, start: &RunStart) -> Result<(), StoreError>;

    /// Records a new execution directly as `Running` (its runner had an instance slot
    /// free): what [`create`](Self::create) then [`mark_running`](Self::mark_running) do,
    /// in one write, so that no reader sees it `Pending` and no failure leaves it so.
    async fn create_running(&self, new: &NewExecution, start: &RunStart) -> Result<(), StoreError>;

    /// Sets one runtime variable of an execution, writing that variable alone.
    async fn set_variable(
        &self,
        id: Uuid,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// Ends a run: stores its log entries, writes its final status and figures, and
    /// returns the execution as stored (without logs), in one transaction: a final status
    /// means the logs are stored.
    async fn finish_with_logs(
        &self,
        id: Uuid,
        outcome: &Outcome,
        entries: &[LogEntry],
    ) -> Result<Execution, StoreError>;
}

/// Leases: a live runner renews those of the executions it runs; a sweep finds the ones
/// whose runner went away and marks them `Stuck`.
#[async_trait]
pub trait LeaseKeeper: Send + Sync + 'static {
    /// Extends the lease of those of `ids` that are still `Running` to `until`: the
    /// heartbeat of a live runner.
    async fn renew_leases(&self, ids: &[Uuid], until: DateTime<Utc>) -> Result<(), StoreError>;

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
}

/// Keeping log entries moved from a live stream: what a sweep does with the stream of an
/// execution whose runner went away, and [`ExecutionsService::move_logs`].
///
/// [`ExecutionsService::move_logs`]: crate::ExecutionsService::move_logs
#[async_trait]
pub trait LogArchive: Send + Sync + 'static {
    /// Stores log entries moved from the live stream. Entries already stored (same
    /// execution and id) are kept once, so a repeated move is harmless. The work is
    /// linear in the number of entries, whatever the execution already has.
    async fn insert_logs(&self, entries: &[LogEntry]) -> Result<(), StoreError>;
}

/// A whole execution store: every role. Each backend implements the four role traits
/// ([`ExecutionReader`], [`RunRecorder`], [`LeaseKeeper`], [`LogArchive`]) and is an
/// `ExecutionStore` by that alone. Code that needs one role takes that trait, so that a
/// wrapper (a test's slow store, say) implements only the role it changes
/// ([`ExecutionsService::with_recorder`](crate::ExecutionsService::with_recorder)).
pub trait ExecutionStore: ExecutionReader + RunRecorder + LeaseKeeper + LogArchive {}

impl<T: ExecutionReader + RunRecorder + LeaseKeeper + LogArchive + ?Sized> ExecutionStore for T {}

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
