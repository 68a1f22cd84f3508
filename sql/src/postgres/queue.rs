//! The queue of executions on PostgreSQL: claims with `FOR UPDATE SKIP LOCKED`, wake-ups
//! by `LISTEN bifrost_queue` (the insert trigger notifies).

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use bifrost_core::error::StoreError;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::queue::{AlreadyEnded, CancelOutcome, Claimed, Lineage, QueueStore, Submission};
use bifrost_core::store::RunStart;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PostgresDialect, PostgresStore};
use crate::error::db;
use crate::purge_statuses;
use crate::rows::ClaimedRow;

/// The notification channel of submissions.
const CHANNEL: &str = "bifrost_queue";

/// How cancelling changes an unfinished row (`$2` the time): queued and not started,
/// `Cancelled` at once; held by a runner (or `Pending` while `run` waits for an instance
/// slot), `Cancelling`, for that runner to stop it.
const CANCEL: &str = "status = CASE WHEN status IN ('Pending', 'Scheduled') \
    AND scheduled_at IS NOT NULL THEN 'Cancelled' ELSE 'Cancelling' END::execution_status, \
    completed_at = CASE WHEN status IN ('Pending', 'Scheduled') \
    AND scheduled_at IS NOT NULL THEN $2 ELSE completed_at END, \
    duration_ms = CASE WHEN status IN ('Pending', 'Scheduled') \
    AND scheduled_at IS NOT NULL THEN 0 ELSE duration_ms END";

/// Cancels execution `$1` if it has not ended, returning its new status.
static CANCEL_ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE executions SET {CANCEL} \
         WHERE id = $1 AND status IN ('Pending', 'Scheduled', 'Running', 'Cancelling') \
         RETURNING status::text"
    )
});

/// Cancels the executions `$1` started that have not ended, and theirs, down the tree.
static CANCEL_DESCENDANTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH RECURSIVE tree(id) AS ( \
             SELECT id FROM executions WHERE parent_execution_id = $1 \
             UNION SELECT e.id FROM executions e JOIN tree ON e.parent_execution_id = tree.id) \
         UPDATE executions SET {CANCEL} \
         WHERE id IN (SELECT id FROM tree) \
         AND status IN ('Pending', 'Scheduled', 'Running', 'Cancelling')"
    )
});

#[async_trait]
impl QueueStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(id = %s.new.id))]
    async fn submit(&self, s: &Submission) -> Result<(), StoreError> {
        let new = &s.new;
        let status = if s.due_at > new.created_at {
            ExecutionStatus::Scheduled
        } else {
            ExecutionStatus::Pending
        };
        sqlx::query(
            "INSERT INTO executions (id, workflow_name, status, parameters, started_at, created_at, \
             executed_by, executed_by_name, organization_id, form_id, session_id, \
             workflow_version, scheduled_at, submitted_as_admin, parent_execution_id) \
             VALUES ($1, $2, $3::execution_status, $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14)",
        )
        .bind(new.id)
        .bind(&new.workflow_name)
        .bind(status.as_str())
        .bind(&new.parameters)
        .bind(new.created_at)
        .bind(new.executed_by)
        .bind(&new.executed_by_name)
        .bind(new.organization_id)
        .bind(new.form_id)
        .bind(&new.session_id)
        .bind(&s.workflow_version)
        .bind(s.due_at)
        .bind(s.is_platform_admin)
        .bind(new.parent_execution_id)
        .execute(self.db())
        .await
        .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(n))]
    async fn claim(&self, n: u32, start: &RunStart) -> Result<Vec<Claimed>, StoreError> {
        let rows: Vec<ClaimedRow<PostgresDialect>> = sqlx::query_as(
            "UPDATE executions e SET status = 'Running', started_at = $2, \
             deadline_at = LEAST($3, (SELECT p.deadline_at FROM executions p \
                 WHERE p.id = e.parent_execution_id)), \
             lease_until = $4 \
             FROM (SELECT id FROM executions \
                   WHERE status IN ('Pending', 'Scheduled') AND scheduled_at <= $2 \
                   ORDER BY scheduled_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due \
             WHERE e.id = due.id \
             RETURNING e.id, e.workflow_name, e.parameters, e.executed_by, e.executed_by_name, \
             e.organization_id, e.form_id, e.session_id, e.created_at, e.workflow_version, \
             e.submitted_as_admin, e.parent_execution_id, e.deadline_at",
        )
        .bind(i64::from(n))
        .bind(start.started_at)
        .bind(start.deadline_at)
        .bind(start.lease_until)
        .fetch_all(self.db())
        .await
        .map_err(db)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn cancel(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Result<CancelOutcome, AlreadyEnded>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let changed: Option<String> = sqlx::query_scalar(&CANCEL_ONE)
            .bind(id)
            .bind(at)
            .fetch_optional(self.on(&mut tx))
            .await
            .map_err(db)?;
        if let Some(status) = changed {
            sqlx::query(&CANCEL_DESCENDANTS)
                .bind(id)
                .bind(at)
                .execute(self.on(&mut tx))
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            return Ok(Ok(if status == "Cancelled" {
                CancelOutcome::Cancelled
            } else {
                CancelOutcome::Cancelling
            }));
        }
        // Nothing changed: it has ended, or there is no such row.
        let status: String =
            sqlx::query_scalar("SELECT status::text FROM executions WHERE id = $1")
                .bind(id)
                .fetch_one(self.on(&mut tx))
                .await
                .map_err(db)?;
        let status = status
            .parse()
            .map_err(|e| StoreError::Database(format!("status {status:?}: {e}")))?;
        Ok(Err(AlreadyEnded { id, status }))
    }

    async fn cancel_descendants(&self, parent: Uuid, at: DateTime<Utc>) -> Result<u64, StoreError> {
        sqlx::query(&CANCEL_DESCENDANTS)
            .bind(parent)
            .bind(at)
            .execute(self.db())
            .await
            .map(|done| done.rows_affected())
            .map_err(db)
    }

    async fn lineage(&self, id: Uuid, max_depth: u32) -> Result<Lineage, StoreError> {
        let (depth, children): (Option<i32>, i64) = sqlx::query_as(
            "WITH RECURSIVE up(id, parent, depth) AS ( \
                 SELECT id, parent_execution_id, 0 FROM executions WHERE id = $1 \
                 UNION ALL SELECT e.id, e.parent_execution_id, up.depth + 1 \
                 FROM executions e JOIN up ON e.id = up.parent WHERE up.depth < $2) \
             SELECT (SELECT max(depth) FROM up), \
                    (SELECT count(*) FROM executions WHERE parent_execution_id = $1)",
        )
        .bind(id)
        .bind(i32::try_from(max_depth).unwrap_or(i32::MAX))
        .fetch_one(self.db())
        .await
        .map_err(db)?;
        Ok(Lineage {
            depth: depth.map_or(0, |d| d.max(0) as u32),
            children: children.max(0) as u64,
        })
    }

    async fn cancelling(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query_scalar("SELECT id FROM executions WHERE id = ANY($1) AND status = 'Cancelling'")
            .bind(ids)
            .fetch_all(self.db())
            .await
            .map_err(db)
    }

    async fn queue_depth(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM executions \
             WHERE status IN ('Pending', 'Scheduled') AND scheduled_at <= $1",
        )
        .bind(now)
        .fetch_one(self.db())
        .await
        .map_err(db)?;
        Ok(n.max(0) as u64)
    }

    async fn purge_batch(
        &self,
        before: DateTime<Utc>,
        statuses: &[ExecutionStatus],
        batch: u32,
    ) -> Result<u64, StoreError> {
        let wanted = purge_statuses(statuses);
        // Log lines and variables go with their execution (ON DELETE CASCADE).
        sqlx::query(
            "DELETE FROM executions WHERE id IN ( \
                 SELECT id FROM executions \
                 WHERE status::text = ANY($1) AND completed_at < $2 \
                 ORDER BY completed_at LIMIT $3)",
        )
        .bind(&wanted)
        .bind(before)
        .bind(i64::from(batch))
        .execute(self.db())
        .await
        .map(|done| done.rows_affected())
        .map_err(db)
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let mut guard = self.listener.lock().await;
        if guard.is_none() {
            // Through a pooler in transaction mode a `LISTEN` would hold on to nothing:
            // without a direct connection, waits poll.
            let pool = match &self.listen_pool {
                Some(pool) => pool,
                None if self.pooled => {
                    drop(guard);
                    tokio::time::sleep(timeout).await;
                    return;
                }
                None => &self.pool,
            };
            match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut listener) => match listener.listen(CHANNEL).await {
                    Ok(()) => *guard = Some(listener),
                    Err(e) => tracing::warn!(error = %e, "cannot LISTEN for submissions"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for submissions"),
            }
        }
        let Some(listener) = guard.as_mut() else {
            drop(guard);
            tokio::time::sleep(timeout).await;
            return;
        };
        match tokio::time::timeout(timeout, listener.recv()).await {
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "lost the LISTEN connection; polling until it is back");
                *guard = None;
                drop(guard);
                tokio::time::sleep(timeout).await;
            }
        }
    }
}
