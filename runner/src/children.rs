//! Child executions through the queue: what the `workflows` interface of
//! `bifrost:executions@0.3.0` starts when a runner is given [`QueueChildren`] (as
//! `bifrost-runner serve` does). A child is a submitted execution like any other, recorded
//! with its parent's id and run as its parent's caller by whichever runner claims it; the
//! parent waits by reading the child's row.
//!
//! Limits ([`ChildLimits`]): how deep a chain of parents may go (a cycle `A -> B -> A`
//! ends there with `limit-reached`, not in a hang) and how many children one execution
//! may start. A child's deadline is its runner's timeout from its claim, or its parent's
//! deadline if that is earlier (the claim sets it); when its parent ends, whatever its
//! status, the worker that ran the parent cancels the children it left unfinished
//! (`worker.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bifrost_core::children::{Children, Parent};
use bifrost_core::limits::Limits;
use bifrost_core::model::Execution;
use bifrost_core::queue::QueueStore;
use bifrost_core::workflows::{Deployment, WorkflowStore};
use bifrost_core::{ApiError, ExecutionsService, Identity};
use uuid::Uuid;

use crate::{RunError, RunRequest};

/// Limits on workflows that start workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildLimits {
    /// How deep a chain of parents may go: an execution started from outside is at depth
    /// 0, its children at 1, theirs at 2. Default 8.
    pub max_depth: u32,
    /// How many children one execution may start. Default 1,000.
    pub max_children: u64,
}

impl Default for ChildLimits {
    fn default() -> Self {
        Self {
            max_depth: 8,
            max_children: 1000,
        }
    }
}

/// The first and the longest pause between two reads of a child a parent waits for.
const WAIT_FIRST: Duration = Duration::from_millis(5);
const WAIT_LONGEST: Duration = Duration::from_millis(200);

/// Starts children as submitted executions on `queue`, and waits for them by reading
/// their rows through `service`.
pub struct QueueChildren {
    queue: Arc<dyn QueueStore>,
    workflows: Arc<dyn WorkflowStore>,
    service: ExecutionsService,
    limits: ChildLimits,
    input_limits: Limits,
}

impl QueueChildren {
    /// Children on `queue` of the workflows deployed in `workflows`, read back through
    /// `service`, within `limits`; a child's input is checked against `input_limits`, as
    /// a submission's is.
    pub fn new(
        queue: Arc<dyn QueueStore>,
        workflows: Arc<dyn WorkflowStore>,
        service: ExecutionsService,
        limits: ChildLimits,
        input_limits: Limits,
    ) -> Self {
        Self {
            queue,
            workflows,
            service,
            limits,
            input_limits,
        }
    }
}

impl std::fmt::Debug for QueueChildren {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueChildren")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Children for QueueChildren {
    async fn start(
        &self,
        parent: &Parent,
        workflow_name: &str,
        input: serde_json::Value,
    ) -> Result<Uuid, ApiError> {
        match self.workflows.deployment(workflow_name).await {
            Ok(_) => {}
            Err(bifrost_core::error::StoreError::NotFound) => {
                return Err(ApiError::NotFound(workflow_name.to_owned()));
            }
            Err(e) => return Err(e.into()),
        }
        let lineage = self
            .queue
            .lineage(parent.execution_id, self.limits.max_depth)
            .await?;
        if lineage.depth >= self.limits.max_depth {
            return Err(ApiError::LimitReached(format!(
                "execution {} is {} levels below an execution started from outside; \
                 workflows may start workflows {} levels deep at most",
                parent.execution_id, lineage.depth, self.limits.max_depth
            )));
        }
        if lineage.children >= self.limits.max_children {
            return Err(ApiError::LimitReached(format!(
                "execution {} has started {} workflows, the most one execution may start",
                parent.execution_id, lineage.children
            )));
        }
        let request = RunRequest {
            workflow_name: workflow_name.to_owned(),
            input,
            identity: parent.identity.clone(),
            form_id: None,
            parent_execution_id: Some(parent.execution_id),
            session_id: None,
        };
        crate::worker::submit(
            &*self.queue,
            &*self.workflows,
            request,
            None,
            &self.input_limits,
        )
        .await
        .map_err(|e| match e {
            RunError::Backend(e) => e,
            RunError::InvalidArgument { parameter, reason } => {
                ApiError::InvalidArgument { parameter, reason }
            }
            e @ RunError::InputTooLarge { .. } => ApiError::TooLarge(e.to_string()),
            RunError::Load(e) => ApiError::Internal(format!("{e:#}")),
        })
    }

    async fn wait(
        &self,
        parent: &Parent,
        child: Uuid,
        timeout: Option<Duration>,
    ) -> Result<Execution, ApiError> {
        let until = timeout.map(|t| Instant::now() + t);
        let mut pause = WAIT_FIRST;
        loop {
            let execution = match self.service.get(&parent.identity, &child.to_string()).await {
                Ok(e) if e.parent_execution_id == Some(parent.execution_id) => e,
                // Not this execution's child: whoever's it is, there is none of that id.
                Ok(_) | Err(ApiError::PermissionDenied(_)) => {
                    return Err(ApiError::NotFound(child.to_string()));
                }
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            if execution.status.is_final() || until.is_some_and(|u| now >= u) {
                return Ok(execution);
            }
            let left = until.map_or(pause, |u| u - now);
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(WAIT_LONGEST);
        }
    }

    async fn workflows(&self, _caller: &Identity) -> Result<Vec<Deployment>, ApiError> {
        // Every deployed workflow may be started by anyone who may run workflows, as
        // `executions submit` and `POST /executions` allow.
        Ok(self.workflows.deployments().await?)
    }
}
