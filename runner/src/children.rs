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
use tokio::task::JoinHandle;
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

/// The deployment of `workflow_name`; `not-found` (the name) when none is deployed.
async fn deployed(
    workflows: &dyn WorkflowStore,
    workflow_name: &str,
) -> Result<Deployment, ApiError> {
    match workflows.deployment(workflow_name).await {
        Ok(d) => Ok(d),
        Err(bifrost_core::error::StoreError::NotFound) => {
            Err(ApiError::NotFound(workflow_name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses another child of `parent` past the depth or the children limit.
async fn check_limits(
    queue: &dyn QueueStore,
    parent: &Parent,
    limits: ChildLimits,
) -> Result<(), ApiError> {
    let lineage = queue.lineage(parent.execution_id, limits.max_depth).await?;
    if lineage.depth >= limits.max_depth {
        return Err(ApiError::LimitReached(format!(
            "execution {} is {} levels below an execution started from outside; \
             workflows may start workflows {} levels deep at most",
            parent.execution_id, lineage.depth, limits.max_depth
        )));
    }
    if lineage.children >= limits.max_children {
        return Err(ApiError::LimitReached(format!(
            "execution {} has started {} workflows, the most one execution may start",
            parent.execution_id, lineage.children
        )));
    }
    Ok(())
}

/// A run request's refusal, in the interface's terms.
fn api_error(e: RunError) -> ApiError {
    match e {
        RunError::Backend(e) => e,
        RunError::InvalidArgument { parameter, reason } => {
            ApiError::InvalidArgument { parameter, reason }
        }
        e @ RunError::InputTooLarge { .. } => ApiError::TooLarge(e.to_string()),
        RunError::Load(e) => ApiError::Internal(format!("{e:#}")),
    }
}

/// Reads `child`'s row, as `parent`'s caller sees it, until it has ended or `timeout` has
/// passed. An id that is no child of `parent` is `not-found`, unless `starting` says its
/// row is still to be written. Between reads it pauses (see [`WAIT_FIRST`]), and `woken`,
/// when given, cuts a pause short: the runner that may run the child wakes it when it
/// records an execution's end.
async fn wait_for(
    service: &ExecutionsService,
    parent: &Parent,
    child: Uuid,
    timeout: Option<Duration>,
    starting: impl Fn() -> bool,
    woken: Option<&tokio::sync::Notify>,
) -> Result<Execution, ApiError> {
    let until = timeout.map(|t| Instant::now() + t);
    let mut pause = WAIT_FIRST;
    loop {
        // Made before the read, so that an end recorded after it still wakes this wait.
        let wake = woken.map(tokio::sync::Notify::notified);
        let execution = match service.get(&parent.identity, &child.to_string()).await {
            Ok(e) if e.parent_execution_id == Some(parent.execution_id) => Some(e),
            Err(ApiError::NotFound(_)) if starting() => None,
            // Not this execution's child: whoever's it is, there is none of that id.
            Ok(_) | Err(ApiError::PermissionDenied(_) | ApiError::NotFound(_)) => {
                return Err(ApiError::NotFound(child.to_string()));
            }
            Err(e) => return Err(e),
        };
        let now = Instant::now();
        if let Some(e) = execution
            && (e.status.is_final() || until.is_some_and(|u| now >= u))
        {
            return Ok(e);
        }
        let left = until.map_or(pause, |u| u.saturating_duration_since(now));
        if left.is_zero() {
            return Err(ApiError::NotFound(child.to_string()));
        }
        let sleep = tokio::time::sleep(pause.min(left));
        match wake {
            Some(wake) => {
                tokio::select! {
                    () = sleep => {}
                    () = wake => {}
                }
            }
            None => sleep.await,
        }
        pause = (pause * 2).min(WAIT_LONGEST);
    }
}

/// The run request of a child of `parent`: run as the parent's caller, never with more
/// rights, and recorded with the parent's id.
fn child_request(parent: &Parent, workflow_name: &str, input: serde_json::Value) -> RunRequest {
    RunRequest {
        workflow_name: workflow_name.to_owned(),
        input,
        identity: parent.identity.clone(),
        form_id: None,
        parent_execution_id: Some(parent.execution_id),
        session_id: None,
    }
}

/// The first and the longest pause between two reads of a child a parent waits for, when
/// nothing wakes the wait sooner (a child run by another process).
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
    woken: Option<Arc<tokio::sync::Notify>>,
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
            woken: None,
        }
    }

    /// Waits read a child's row again as soon as `ended` is woken: give it the
    /// [`Runner::ended`](crate::Runner::ended) of the runner in this process, which may run
    /// the child, so that a child run here is seen at once (one run by another process is
    /// read at the next poll).
    #[must_use]
    pub fn woken_by(mut self, ended: Arc<tokio::sync::Notify>) -> Self {
        self.woken = Some(ended);
        self
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
        deployed(&*self.workflows, workflow_name).await?;
        check_limits(&*self.queue, parent, self.limits).await?;
        let request = child_request(parent, workflow_name, input);
        crate::worker::submit(
            &*self.queue,
            &*self.workflows,
            request,
            None,
            &self.input_limits,
        )
        .await
        .map_err(api_error)
    }

    async fn wait(
        &self,
        parent: &Parent,
        child: Uuid,
        timeout: Option<Duration>,
    ) -> Result<Execution, ApiError> {
        wait_for(
            &self.service,
            parent,
            child,
            timeout,
            || false,
            self.woken.as_deref(),
        )
        .await
    }

    async fn workflows(&self, _caller: &Identity) -> Result<Vec<Deployment>, ApiError> {
        // Every deployed workflow may be started by anyone who may run workflows, as
        // `executions submit` and `POST /executions` allow.
        Ok(self.workflows.deployments().await?)
    }
}

/// The children each execution started in this process, with their tasks.
type Started = Arc<std::sync::Mutex<std::collections::HashMap<Uuid, Vec<(Uuid, JoinHandle<()>)>>>>;

/// Starts children in the parent's own runner, each as an execution of its own recorded
/// in the same store (what `bifrost-runner run` does: no other process would claim them).
/// The deployed version is compiled (or read from the caches) before `start` returns. When
/// an execution it ran ends, [`end_of`](Self::end_of) cancels what that execution left
/// running and waits until it is recorded; `run` calls it for the execution it ran.
pub struct LocalChildren {
    runner: std::sync::Weak<crate::Runner>,
    queue: Arc<dyn QueueStore>,
    workflows: Arc<dyn WorkflowStore>,
    limits: ChildLimits,
    started: Started,
}

impl LocalChildren {
    /// Children run by `runner` (give it [`Runner::with_children`](crate::Runner::with_children)
    /// inside `Arc::new_cyclic`), of the workflows deployed in `workflows`, within
    /// `limits`, their depth read through `queue`.
    pub fn new(
        runner: std::sync::Weak<crate::Runner>,
        queue: Arc<dyn QueueStore>,
        workflows: Arc<dyn WorkflowStore>,
        limits: ChildLimits,
    ) -> Self {
        Self {
            runner,
            queue,
            workflows,
            limits,
            started: Started::default(),
        }
    }

    /// Cancels the children `parent` left running, and waits until they (and theirs) are
    /// recorded.
    pub async fn end_of(&self, parent: Uuid) {
        end_of(&self.started, &self.runner, parent).await;
    }

    fn starting(&self, child: Uuid) -> bool {
        let started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        started
            .values()
            .flatten()
            .any(|(id, task)| *id == child && !task.is_finished())
    }
}

async fn end_of(started: &Started, runner: &std::sync::Weak<crate::Runner>, parent: Uuid) {
    let children = started
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&parent)
        .unwrap_or_default();
    if let Some(runner) = runner.upgrade() {
        for (id, task) in &children {
            if !task.is_finished() && runner.cancel_running(*id) {
                tracing::info!(%parent, child = %id, "cancelled a child its parent left running");
            }
        }
    }
    for (_, task) in children {
        let _ = task.await;
    }
}

impl std::fmt::Debug for LocalChildren {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChildren")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Children for LocalChildren {
    async fn start(
        &self,
        parent: &Parent,
        workflow_name: &str,
        input: serde_json::Value,
    ) -> Result<Uuid, ApiError> {
        let runner = self
            .runner
            .upgrade()
            .ok_or_else(|| ApiError::Unavailable("the runner is shutting down".into()))?;
        let deployment = deployed(&*self.workflows, workflow_name).await?;
        check_limits(&*self.queue, parent, self.limits).await?;
        let mut request = child_request(parent, workflow_name, input);
        // Refused here, not in the task: a request that cannot be recorded never starts.
        crate::prepare(&mut request, &runner.config.limits).map_err(api_error)?;
        let workflow = runner
            .load_deployed(&*self.workflows, &deployment.hash)
            .await
            .map_err(api_error)?;
        let id = Uuid::new_v4();
        let (started, weak) = (self.started.clone(), self.runner.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = runner.run_with_id(&workflow, request, id).await {
                tracing::error!(%id, error = %e, "cannot record a child execution");
            }
            drop(runner);
            end_of(&started, &weak, id).await;
        });
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(parent.execution_id)
            .or_default()
            .push((id, task));
        Ok(id)
    }

    async fn wait(
        &self,
        parent: &Parent,
        child: Uuid,
        timeout: Option<Duration>,
    ) -> Result<Execution, ApiError> {
        let runner = self
            .runner
            .upgrade()
            .ok_or_else(|| ApiError::Unavailable("the runner is shutting down".into()))?;
        let (service, ended) = (runner.service().clone(), runner.ended());
        drop(runner);
        wait_for(
            &service,
            parent,
            child,
            timeout,
            || self.starting(child),
            Some(&ended),
        )
        .await
    }

    async fn workflows(&self, _caller: &Identity) -> Result<Vec<Deployment>, ApiError> {
        Ok(self.workflows.deployments().await?)
    }
}
