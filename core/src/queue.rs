//! The queue of executions: submitted executions of deployed workflows, claimed by any
//! number of runner processes that share one store.
//!
//! A submitted execution is a row like any other, `Pending` (or `Scheduled` until it is
//! due) with the time it is due (`scheduled_at`) and the workflow version it will run. A
//! runner claims due rows in one statement that also marks them `Running` with its lease,
//! so that each is claimed exactly once (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a write
//! transaction on SQLite). Rows written by `run` have no due time and are never claimed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{ExecutionStatus, NewExecution};
use crate::store::RunStart;

/// An execution to queue.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The row, as `run` would write it; `created_at` is the submission time.
    pub new: NewExecution,
    /// The deployed version to run (its hash).
    pub workflow_version: String,
    /// Whether the submitter is a platform admin: the instance acts as one.
    pub is_platform_admin: bool,
    /// When it is due: `Pending` at once if not after `created_at`, else `Scheduled`.
    pub due_at: DateTime<Utc>,
}

/// A claimed execution: its row, now `Running` under the claimer's lease.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The row as submitted (id, workflow name, input, identity, form, session).
    pub new: NewExecution,
    /// The deployed version to run.
    pub workflow_version: String,
    /// Whether the submitter is a platform admin: the instance acts as one.
    pub is_platform_admin: bool,
    /// When the run must have ended: the claim's deadline, or its parent's if that is
    /// earlier (a child never outlives its parent's deadline).
    pub deadline_at: DateTime<Utc>,
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelOutcome {
    /// It had not started: it is `Cancelled` now.
    Cancelled,
    /// It is running: it is `Cancelling` until its runner stops it and records `Cancelled`.
    Cancelling,
}

/// A cancel of an execution that has already ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "execution {id} has already ended ({status}); only a pending, scheduled or running execution can be cancelled"
)]
pub struct AlreadyEnded {
    /// The execution.
    pub id: Uuid,
    /// Its final status.
    pub status: ExecutionStatus,
}

/// Where an execution stands among workflows that start workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage {
    /// Its ancestors: 0 for an execution started from outside, counted up to the bound
    /// the caller asked for.
    pub depth: u32,
    /// The executions it has started.
    pub children: u64,
}

/// The queue's operations on a store.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Writes a submitted execution, `Pending` or `Scheduled`, and wakes waiting runners.
    async fn submit(&self, submission: &Submission) -> Result<(), StoreError>;

    /// Claims up to `n` due executions, oldest due first, marking them `Running` with
    /// `start` (its times are the claim's); each row is claimed by one caller only.
    async fn claim(&self, n: u32, start: &RunStart) -> Result<Vec<Claimed>, StoreError>;

    /// Cancels an execution: a `Pending` or `Scheduled` one becomes `Cancelled` at once,
    /// a `Running` one `Cancelling` (a `Cancelling` one stays so), and so does every
    /// execution it started that has not ended, directly or through its children (their
    /// `parent_execution_id`), in the same transaction. `Ok(Err(..))` when it has already
    /// ended (then nothing changes); [`StoreError::NotFound`] when there is no such row.
    async fn cancel(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Result<CancelOutcome, AlreadyEnded>, StoreError>;

    /// Cancels, as [`cancel`](Self::cancel) does, every execution `parent` started that
    /// has not ended, and theirs, down the tree; returns how many changed. A worker calls
    /// it when an execution it ran has ended, whatever its status, so that no child
    /// outlives its parent.
    async fn cancel_descendants(&self, parent: Uuid, at: DateTime<Utc>) -> Result<u64, StoreError>;

    /// `id`'s ancestors (counted up to `max_depth`) and the executions it has started.
    async fn lineage(&self, id: Uuid, max_depth: u32) -> Result<Lineage, StoreError>;

    /// Which of `ids` are `Cancelling`.
    async fn cancelling(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError>;

    /// Executions waiting: due, not yet claimed.
    async fn queue_depth(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Waits until work may have been submitted, or `timeout`. PostgreSQL is woken by
    /// `NOTIFY` from the submission; SQLite has no notification and waits out `timeout`.
    async fn wait_for_work(&self, timeout: std::time::Duration);

    /// Deletes, in one short statement, at most `batch` executions that have ended before
    /// `before` (their `completed_at`), oldest first, with their log lines and variables;
    /// only those of `statuses` when it is not empty. An execution that has not ended
    /// (scheduled, pending, running, cancelling) is never deleted, whatever `statuses`
    /// says. Returns how many were deleted: fewer than `batch` when no more are due.
    async fn purge_batch(
        &self,
        before: DateTime<Utc>,
        statuses: &[ExecutionStatus],
        batch: u32,
    ) -> Result<u64, StoreError>;
}

/// The statuses an execution can end with, in the order of
/// [`ExecutionStatus::ALL`]: what a purge may delete.
pub fn final_statuses() -> Vec<ExecutionStatus> {
    ExecutionStatus::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .collect()
}
