//! Workflows deployed by name: a component stored once by the SHA-256 of its bytes, and a
//! name that points at its latest version.
//!
//! Deploying the bytes a name already points at changes nothing. Deploying other bytes
//! under a name points it at them; the earlier version's bytes stay stored, since
//! executions record the version they ran. Removing a name removes the name only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::StoreError;

/// A name and the version it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    /// The workflow's name, as executions are submitted by it.
    pub name: String,
    /// The version: SHA-256 of the component's bytes, lowercase hex.
    pub hash: String,
    /// The component's size in bytes.
    pub size: u64,
    /// Who deployed this version.
    pub deployed_by: Uuid,
    /// Their display name.
    pub deployed_by_name: String,
    /// When this version was deployed under this name (microseconds).
    pub deployed_at: DateTime<Utc>,
}

/// Whether a deployment changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployOutcome {
    /// The name is new, or now points at other bytes.
    Deployed,
    /// The name already pointed at these bytes: nothing changed.
    Unchanged,
}

/// Where deployed workflows are kept.
#[async_trait]
pub trait WorkflowStore: Send + Sync + 'static {
    /// Stores `bytes` (once per hash) and points `deployment.name` at them, in one
    /// transaction. When the name already points at `deployment.hash`, nothing is written
    /// and the deployment as it was is returned with [`DeployOutcome::Unchanged`].
    async fn deploy(
        &self,
        deployment: &Deployment,
        bytes: &[u8],
    ) -> Result<(Deployment, DeployOutcome), StoreError>;

    /// The deployment named `name`; [`StoreError::NotFound`] if there is none.
    async fn deployment(&self, name: &str) -> Result<Deployment, StoreError>;

    /// Every deployment, by name.
    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError>;

    /// Removes the name; [`StoreError::NotFound`] if there is none. The bytes stay.
    async fn remove_deployment(&self, name: &str) -> Result<(), StoreError>;

    /// The bytes of the version `hash`; [`StoreError::NotFound`] if none is stored.
    async fn component(&self, hash: &str) -> Result<Vec<u8>, StoreError>;

    /// Deletes the stored versions first stored before `before` that no name points at and
    /// no execution ran or is to run (`workflow_version`); returns how many. A store that
    /// keeps no dates of its versions (the in-memory one) deletes none.
    async fn collect_components(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        let _ = before;
        Ok(0)
    }
}
