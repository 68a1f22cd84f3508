//! Workflows that start workflows: what a host needs to answer the `workflows` interface
//! of `bifrost:executions@0.3.0`. The runner implements [`Children`] (every child an
//! execution of its own, run as the parent's caller); a host given none answers each call
//! with `unavailable`.

use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::model::Execution;
use crate::workflows::Deployment;
use crate::{ApiError, Identity};

/// The execution that starts or waits for children, as its host bound it.
#[derive(Debug, Clone)]
pub struct Parent {
    /// The parent's id.
    pub execution_id: Uuid,
    /// Who the parent runs as: its children run as the same caller, never with more rights.
    pub identity: Identity,
}

/// Starts deployed workflows as child executions of a running execution, and waits for
/// them.
#[async_trait]
pub trait Children: Send + Sync + 'static {
    /// Starts the deployed workflow `workflow_name` on `input` as a child of `parent`;
    /// returns the child's id. `not-found` for a name that is not deployed.
    async fn start(
        &self,
        parent: &Parent,
        workflow_name: &str,
        input: serde_json::Value,
    ) -> Result<Uuid, ApiError>;

    /// Waits for `child`, a child of `parent`, to end, at most `timeout` (none: until it
    /// ends); returns its record as the parent's caller may see it, still unfinished if it
    /// had not ended in time. `not-found` for an id that is not a child of `parent`.
    async fn wait(
        &self,
        parent: &Parent,
        child: Uuid,
        timeout: Option<Duration>,
    ) -> Result<Execution, ApiError>;

    /// The deployed workflows `caller` may start, each with its current version.
    async fn workflows(&self, caller: &Identity) -> Result<Vec<Deployment>, ApiError>;
}
