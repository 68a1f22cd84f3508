//! Retention: deleting ended executions, with their log lines and variables, once they are
//! older than the operator keeps them (`bifrost-runner executions purge`).

use std::time::Instant;

use bifrost_core::Identity;
use bifrost_core::access::{AccessStore, AuditEntry};
use bifrost_core::error::StoreError;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::queue::QueueStore;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Executions one statement deletes: small enough that no statement holds its locks for
/// long, and lets the runner's own writes in between.
pub const PURGE_BATCH: u32 = 1000;

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
    /// Seconds the purge took.
    pub seconds: f64,
}

/// Deletes every execution of `statuses` (every final status when empty) that ended
/// before `before`, oldest first, `batch` at a time, and records the purge in the audit
/// record as `execution.purge` done by `by` (its detail says how many, of what, before
/// when, and `trigger`: `cli` or `serve`); a purge that deleted nothing is recorded only
/// if `record_nothing`. An execution that has not ended is never deleted; the caller
/// refuses a status that is not final.
#[allow(clippy::too_many_arguments)]
pub async fn purge(
    queue: &dyn QueueStore,
    access: &dyn AccessStore,
    before: DateTime<Utc>,
    statuses: &[ExecutionStatus],
    batch: u32,
    by: &Identity,
    trigger: &str,
    record_nothing: bool,
) -> Result<PurgeReport, StoreError> {
    let clock = Instant::now();
    let batch = batch.max(1);
    let (mut deleted, mut batches) = (0, 0);
    loop {
        let n = queue.purge_batch(before, statuses, batch).await?;
        deleted += n;
        batches += 1;
        if n < u64::from(batch) {
            break;
        }
        // Other work of this process runs between two statements.
        tokio::task::yield_now().await;
    }
    let statuses = if statuses.is_empty() {
        bifrost_core::queue::final_statuses()
    } else {
        statuses.to_vec()
    };
    let report = PurgeReport {
        deleted,
        batches,
        before,
        statuses,
        seconds: clock.elapsed().as_secs_f64(),
    };
    if report.deleted == 0 && !record_nothing {
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
            target: bifrost_core::model::rfc3339(&before),
            detail: serde_json::json!({
                "deleted": report.deleted,
                "batches": report.batches,
                "statuses": report.statuses,
                "trigger": trigger,
            }),
        })
        .await?;
    Ok(report)
}
