//! The queue of executions on SQLite: claims in one `BEGIN IMMEDIATE` transaction (one
//! writer at a time, so a row is claimed once); no notification, so waiting for work is a
//! poll.

use std::time::Duration;

use async_trait::async_trait;
use bifrost_core::error::StoreError;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::queue::{AlreadyEnded, CancelOutcome, Claimed, Lineage, QueueStore, Submission};
use bifrost_core::store::RunStart;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use super::{SqliteDialect, SqliteStore, id_text, micros, uuid};
use crate::error::db;
use crate::purge_statuses;
use crate::rows::ClaimedRow;

/// Cancels the executions `?1` started that have not ended, and theirs, down the tree, at
/// `?2`: queued and not started, `Cancelled` at once; held by a runner (or `Pending` while
/// `run` waits for an instance slot), `Cancelling`, for that runner to stop it.
const CANCEL_DESCENDANTS: &str = "WITH RECURSIVE tree(id) AS ( \
         SELECT id FROM executions WHERE parent_execution_id = ?1 \
         UNION SELECT e.id FROM executions e JOIN tree ON e.parent_execution_id = tree.id) \
     UPDATE executions SET \
     status = CASE WHEN status IN ('Pending', 'Scheduled') AND scheduled_at IS NOT NULL \
         THEN 'Cancelled' ELSE 'Cancelling' END, \
     completed_at = CASE WHEN status IN ('Pending', 'Scheduled') \
         AND scheduled_at IS NOT NULL THEN ?2 ELSE completed_at END, \
     duration_ms = CASE WHEN status IN ('Pending', 'Scheduled') \
         AND scheduled_at IS NOT NULL THEN 0 ELSE duration_ms END \
     WHERE id IN (SELECT id FROM tree) \
     AND status IN ('Pending', 'Scheduled', 'Running', 'Cancelling')";

#[async_trait]
impl QueueStore for SqliteStore {
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .bind(id_text(new.id))
        .bind(&new.workflow_name)
        .bind(status.as_str())
        .bind(new.parameters.to_string())
        .bind(micros(new.created_at))
        .bind(id_text(new.executed_by))
        .bind(&new.executed_by_name)
        .bind(new.organization_id.map(id_text))
        .bind(new.form_id.map(id_text))
        .bind(&new.session_id)
        .bind(&s.workflow_version)
        .bind(micros(s.due_at))
        .bind(s.is_platform_admin)
        .bind(new.parent_execution_id.map(id_text))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(n))]
    async fn claim(&self, n: u32, start: &RunStart) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        // A child's deadline is its parent's if that is earlier.
        let rows: Vec<ClaimedRow<SqliteDialect>> = sqlx::query_as(
            "SELECT id, workflow_name, parameters, executed_by, executed_by_name, \
             organization_id, form_id, session_id, created_at, workflow_version, \
             submitted_as_admin, parent_execution_id, \
             min(?3, coalesce((SELECT p.deadline_at FROM executions p \
                 WHERE p.id = executions.parent_execution_id), ?3)) AS deadline_at \
             FROM executions \
             WHERE status IN ('Pending', 'Scheduled') AND scheduled_at <= ?1 \
             ORDER BY scheduled_at, id LIMIT ?2",
        )
        .bind(micros(start.started_at))
        .bind(i64::from(n))
        .bind(micros(start.deadline_at))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        if !rows.is_empty() {
            let mut qb = QueryBuilder::<Sqlite>::new("UPDATE executions SET status = 'Running', ");
            qb.push("started_at = ")
                .push_bind(micros(start.started_at))
                .push(", deadline_at = min(")
                .push_bind(micros(start.deadline_at))
                .push(
                    ", coalesce((SELECT p.deadline_at FROM executions p \
                       WHERE p.id = executions.parent_execution_id), ",
                )
                .push_bind(micros(start.deadline_at))
                .push("))")
                .push(", lease_until = ")
                .push_bind(micros(start.lease_until))
                .push(" WHERE id IN (");
            let mut ids = qb.separated(", ");
            for r in &rows {
                ids.push_bind(r.id.clone());
            }
            ids.push_unseparated(")");
            qb.build().execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[tracing::instrument(skip_all, fields(%id))]
    async fn cancel(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Result<CancelOutcome, AlreadyEnded>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let (status, queued): (String, bool) =
            sqlx::query_as("SELECT status, scheduled_at IS NOT NULL FROM executions WHERE id = ?")
                .bind(id_text(id))
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        let status: ExecutionStatus = status
            .parse()
            .map_err(|e| StoreError::Database(format!("status {status:?}: {e}")))?;
        if status.is_final() {
            return Ok(Err(AlreadyEnded { id, status }));
        }
        // Queued and not started: cancelled at once. Held by a runner (or `Pending` while
        // `run` waits for an instance slot): `Cancelling`, for that runner to stop it.
        let outcome = if queued && !status.is_live() {
            sqlx::query(
                "UPDATE executions SET status = 'Cancelled', completed_at = ?2, duration_ms = 0 \
                 WHERE id = ?1",
            )
            .bind(id_text(id))
            .bind(micros(at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            CancelOutcome::Cancelled
        } else {
            sqlx::query("UPDATE executions SET status = 'Cancelling' WHERE id = ?")
                .bind(id_text(id))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            CancelOutcome::Cancelling
        };
        // Its descendants: the executions it started, and theirs, the same way.
        sqlx::query(CANCEL_DESCENDANTS)
            .bind(id_text(id))
            .bind(micros(at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Ok(outcome))
    }

    async fn cancel_descendants(&self, parent: Uuid, at: DateTime<Utc>) -> Result<u64, StoreError> {
        sqlx::query(CANCEL_DESCENDANTS)
            .bind(id_text(parent))
            .bind(micros(at))
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(db)
    }

    async fn lineage(&self, id: Uuid, max_depth: u32) -> Result<Lineage, StoreError> {
        let (depth, children): (Option<i64>, i64) = sqlx::query_as(
            "WITH RECURSIVE up(id, parent, depth) AS ( \
                 SELECT id, parent_execution_id, 0 FROM executions WHERE id = ?1 \
                 UNION ALL SELECT e.id, e.parent_execution_id, up.depth + 1 \
                 FROM executions e JOIN up ON e.id = up.parent WHERE up.depth < ?2) \
             SELECT (SELECT max(depth) FROM up), \
                    (SELECT count(*) FROM executions WHERE parent_execution_id = ?1)",
        )
        .bind(id_text(id))
        .bind(i64::from(max_depth))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(Lineage {
            depth: depth.map_or(0, |d| d.clamp(0, i64::from(u32::MAX)) as u32),
            children: children.max(0) as u64,
        })
    }

    async fn cancelling(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT id FROM executions WHERE status = 'Cancelling' AND id IN (",
        );
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(id_text(*id));
        }
        list.push_unseparated(")");
        let found: Vec<String> = qb
            .build_query_scalar()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        found.iter().map(|s| uuid(s)).collect()
    }

    async fn queue_depth(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM executions \
             WHERE status IN ('Pending', 'Scheduled') AND scheduled_at <= ?",
        )
        .bind(micros(now))
        .fetch_one(&self.pool)
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
        let wanted = serde_json::to_string(&purge_statuses(statuses)).map_err(|e| {
            StoreError::Database(format!("cannot encode the statuses to purge: {e}"))
        })?;
        // Log lines and variables go with their execution (ON DELETE CASCADE).
        sqlx::query(
            "DELETE FROM executions WHERE id IN ( \
                 SELECT id FROM executions \
                 WHERE status IN (SELECT value FROM json_each(?1)) AND completed_at < ?2 \
                 ORDER BY completed_at LIMIT ?3)",
        )
        .bind(wanted)
        .bind(micros(before))
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(db)
    }

    async fn wait_for_work(&self, timeout: Duration) {
        tokio::time::sleep(timeout).await;
    }
}
