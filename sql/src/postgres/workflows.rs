//! Deployed workflows on PostgreSQL.

use async_trait::async_trait;
use bifrost_core::error::StoreError;
use bifrost_core::workflows::{DeployOutcome, Deployment, WorkflowStore};
use chrono::{DateTime, Utc};

use super::{PostgresDialect, PostgresStore};
use crate::error::db;
use crate::rows::{DEPLOYMENT_COLUMNS, DeploymentRow};

type Row = DeploymentRow<PostgresDialect>;

#[async_trait]
impl WorkflowStore for PostgresStore {
    async fn deploy(
        &self,
        d: &Deployment,
        bytes: &[u8],
    ) -> Result<(Deployment, DeployOutcome), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Locks the name's row, if there is one, until the end: deployments of one name
        // happen one after the other.
        let current: Option<Row> = sqlx::query_as(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} WHERE w.name = $1 FOR UPDATE OF w"
        ))
        .bind(&d.name)
        .fetch_optional(self.on(&mut tx))
        .await
        .map_err(db)?;
        if let Some(current) = current
            && current.hash == d.hash
        {
            return Ok((current.try_into()?, DeployOutcome::Unchanged));
        }
        sqlx::query(
            "INSERT INTO workflow_components (hash, bytes, size) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(&d.hash)
        .bind(bytes)
        .bind(bytes.len() as i64)
        .execute(self.on(&mut tx))
        .await
        .map_err(db)?;
        sqlx::query(
            "INSERT INTO workflows (name, hash, deployed_by, deployed_by_name, deployed_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, \
             deployed_by = EXCLUDED.deployed_by, deployed_by_name = EXCLUDED.deployed_by_name, \
             deployed_at = EXCLUDED.deployed_at",
        )
        .bind(&d.name)
        .bind(&d.hash)
        .bind(d.deployed_by)
        .bind(&d.deployed_by_name)
        .bind(d.deployed_at)
        .execute(self.on(&mut tx))
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok((d.clone(), DeployOutcome::Deployed))
    }

    async fn deployment(&self, name: &str) -> Result<Deployment, StoreError> {
        let row: Row = sqlx::query_as(&format!("SELECT {DEPLOYMENT_COLUMNS} WHERE w.name = $1"))
            .bind(name)
            .fetch_one(self.db())
            .await
            .map_err(db)?;
        row.try_into()
    }

    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        let rows: Vec<Row> =
            sqlx::query_as(&format!("SELECT {DEPLOYMENT_COLUMNS} ORDER BY w.name"))
                .fetch_all(self.db())
                .await
                .map_err(db)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn remove_deployment(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM workflows WHERE name = $1")
            .bind(name)
            .execute(self.db())
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn collect_components(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        sqlx::query(
            "DELETE FROM workflow_components WHERE created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM workflows w WHERE w.hash = workflow_components.hash) \
             AND NOT EXISTS (SELECT 1 FROM executions e \
                 WHERE e.workflow_version = workflow_components.hash)",
        )
        .bind(before)
        .execute(self.db())
        .await
        .map(|done| done.rows_affected())
        .map_err(db)
    }

    async fn component(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        let (bytes,): (Vec<u8>,) =
            sqlx::query_as("SELECT bytes FROM workflow_components WHERE hash = $1")
                .bind(hash)
                .fetch_one(self.db())
                .await
                .map_err(db)?;
        Ok(bytes)
    }
}
