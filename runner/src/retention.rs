//! Retention: deleting ended executions, with their log lines and variables, once they are
//! older than the operator keeps them, and the stored workflow versions nothing uses any
//! more (`bifrost-runner executions purge`, `serve --retention`).

use std::time::{Duration, Instant};

use bifrost_core::Identity;
use bifrost_core::access::{AccessStore, AuditEntry};
use bifrost_core::error::StoreError;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::queue::QueueStore;
use bifrost_core::workflows::WorkflowStore;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// Executions one statement deletes: small enough that no statement holds its locks for
/// long, and lets the runner's own writes in between.
pub const PURGE_BATCH: u32 = 1000;

/// How long a stored workflow version is kept after it was first stored, when no name
/// points at it and no execution ran it: a deployment that is removed and deployed again
/// within it finds its bytes still there.
pub const VERSION_GRACE: TimeDelta = TimeDelta::days(7);

/// What to purge.
#[derive(Debug, Clone, PartialEq)]
pub struct Purge {
    /// Executions that ended before this are deleted.
    pub before: DateTime<Utc>,
    /// Only executions of these statuses (every final status when empty; a status that has
    /// not ended is never purged).
    pub statuses: Vec<ExecutionStatus>,
    /// Executions a statement deletes ([`PURGE_BATCH`]).
    pub batch: u32,
    /// Stored workflow versions first stored before this, that no name points at and no
    /// remaining execution ran, are deleted after the executions (none: versions stay).
    pub versions_before: Option<DateTime<Utc>>,
    /// A pause after each statement that deleted a whole batch, so that a long purge
    /// leaves the database room for other work (zero: back to back).
    pub pause: Duration,
}

/// What a purge did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurgeReport {
    /// Executions deleted (their log lines and variables with them).
    pub deleted: u64,
    /// Statements it took.
    pub batches: u64,
    /// The executions that ended before this were due.
    pub before: DateTime<Utc>,
    /// The statuses purged (every final status when none was named).
    pub statuses: Vec<ExecutionStatus>,
    /// Stored workflow versions deleted.
    pub versions_deleted: u64,
    /// API tokens deleted: those that expired or were revoked before `before` (only by
    /// a purge of every status).
    pub tokens_deleted: u64,
    /// Idempotency keys deleted: those kept before `before` (only by a purge of every
    /// status).
    pub keys_deleted: u64,
    /// Seconds the purge took.
    pub seconds: f64,
}

/// Runs `purge`: the executions, `batch` at a time, oldest first, then the versions; then
/// records it in the audit record as `execution.purge` done by `by` (its detail says how
/// many, of what, and `trigger`: `cli` or `serve`). A purge that deleted nothing is
/// recorded only if `record_nothing`.
pub async fn purge(
    queue: &dyn QueueStore,
    workflows: &dyn WorkflowStore,
    access: &dyn AccessStore,
    purge: &Purge,
    by: &Identity,
    trigger: &str,
    record_nothing: bool,
) -> Result<PurgeReport, StoreError> {
    let clock = Instant::now();
    let batch = purge.batch.max(1);
    let (mut deleted, mut batches) = (0, 0);
    loop {
        let n = queue
            .purge_batch(purge.before, &purge.statuses, batch)
            .await?;
        deleted += n;
        batches += 1;
        if n < u64::from(batch) {
            break;
        }
        // Other work of this process runs between two statements.
        if purge.pause.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(purge.pause).await;
        }
    }
    let versions_deleted = match purge.versions_before {
        Some(before) => workflows.collect_components(before).await?,
        None => 0,
    };
    // A purge of everything that ended before the cut also forgets the tokens and the
    // idempotency keys that were of no more use by then; one narrowed to some statuses
    // deletes executions only.
    let (tokens_deleted, keys_deleted) = if purge.statuses.is_empty() {
        access.forget_before(purge.before).await?
    } else {
        (0, 0)
    };
    let statuses = if purge.statuses.is_empty() {
        bifrost_core::queue::final_statuses()
    } else {
        purge.statuses.clone()
    };
    let report = PurgeReport {
        deleted,
        batches,
        before: purge.before,
        statuses,
        versions_deleted,
        tokens_deleted,
        keys_deleted,
        seconds: clock.elapsed().as_secs_f64(),
    };
    let nothing = report.deleted == 0
        && report.versions_deleted == 0
        && report.tokens_deleted == 0
        && report.keys_deleted == 0;
    if nothing && !record_nothing {
        return Ok(report);
    }
    access
        .audit(&AuditEntry {
            seq: 0,
            at: Utc::now(),
            user_id: by.user_id,
            user_name: by.user_name.clone(),
            organization_id: by.organization_id,
            token_id: None,
            action: "execution.purge".into(),
            target: bifrost_core::model::rfc3339(&purge.before),
            detail: serde_json::json!({
                "deleted": report.deleted,
                "batches": report.batches,
                "statuses": report.statuses,
                "versions_deleted": report.versions_deleted,
                "tokens_deleted": report.tokens_deleted,
                "keys_deleted": report.keys_deleted,
                "trigger": trigger,
            }),
        })
        .await?;
    Ok(report)
}
