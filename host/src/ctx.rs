//! The per-instance context of the WIT imports, and what every version's imports do in the
//! core's terms (`v0_2.rs` and `v0_1.rs` write the answers in each version's types).

use std::sync::Arc;
use std::time::Duration;

use bifrost_core::InvalidArgument;
use bifrost_core::children::{Children, Parent};
use bifrost_core::limits::Limits;
use bifrost_core::model::{Execution, LogEntry, LogLevel};
use bifrost_core::query::{ListFilter, LogRange, parse_execution_id};
use bifrost_core::service::ExecutionPage;
use bifrost_core::values::VariableSizes;
use bifrost_core::workflows::Deployment;
use bifrost_core::{ApiError, ExecutionContext, ExecutionsService, Identity};
use wasmtime::component::HasData;

use crate::rate::RateLimiter;
use crate::writer::LogWriter;

/// Everything the executions imports of one instance need: who it runs as, which execution
/// it runs in, and the backends. Built by the host before the instance exists; nothing the
/// guest passes can change it.
pub struct ExecutionsCtx {
    identity: Identity,
    execution: Option<ExecutionContext>,
    service: ExecutionsService,
    log: Option<LogWriter>,
    limits: Limits,
    queries: RateLimiter,
    /// The sizes of the variables this instance has set, for their total cap: the instance
    /// is its execution's only writer of them.
    variables: VariableSizes,
    /// What starts and waits for child executions (`workflows`, 0.3.0); none: those calls
    /// are `unavailable`.
    children: Option<Arc<dyn Children>>,
}

impl std::fmt::Debug for ExecutionsCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionsCtx")
            .field("identity", &self.identity)
            .field("execution", &self.execution)
            .finish_non_exhaustive()
    }
}

impl ExecutionsCtx {
    /// A context for an instance that runs as `identity`, outside any execution: queries
    /// work, the log goes to the host's `tracing` output, and calls that need the current
    /// execution fail with `no-execution-context`.
    pub fn new(identity: Identity, service: ExecutionsService) -> Self {
        let limits = Limits::default();
        Self {
            identity,
            execution: None,
            service,
            log: None,
            queries: RateLimiter::new(limits.max_queries_per_second),
            limits,
            variables: VariableSizes::default(),
            children: None,
        }
    }

    /// Answers the `workflows` interface (0.3.0) with `children`: the instance's execution
    /// may start deployed workflows as child executions. Without it those calls are
    /// `unavailable`.
    pub fn with_children(mut self, children: Arc<dyn Children>) -> Self {
        self.children = Some(children);
        self
    }

    /// Applies `limits` instead of [`Limits::default`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.queries = RateLimiter::new(limits.max_queries_per_second);
        self.limits = limits;
        self
    }

    /// Binds the instance to a running execution whose log lines go to `log`.
    pub fn with_execution(mut self, execution: ExecutionContext, log: LogWriter) -> Self {
        self.execution = Some(execution);
        self.log = Some(log);
        self
    }

    /// Who the instance runs as.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The execution the instance runs in, if any.
    pub fn execution(&self) -> Option<&ExecutionContext> {
        self.execution.as_ref()
    }

    /// Waits as long as the query rate limit asks.
    async fn throttle(&mut self) {
        let wait = self.queries.take();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

pub(crate) struct HasExecutions;

impl HasData for HasExecutions {
    type Data<'a> = &'a mut ExecutionsCtx;
}

/// What every version's imports do, in the core's terms; the versions differ only in how the
/// answers are written (`wit_conversions!`).
impl ExecutionsCtx {
    pub(crate) async fn list_executions(
        &mut self,
        filter: ListFilter,
    ) -> Result<Vec<Execution>, ApiError> {
        self.throttle().await;
        self.service.list(&self.identity, &filter).await
    }

    pub(crate) async fn list_executions_page(
        &mut self,
        filter: ListFilter,
        cursor: Option<String>,
    ) -> Result<ExecutionPage, ApiError> {
        self.throttle().await;
        self.service
            .list_page(&self.identity, &filter, cursor.as_deref())
            .await
    }

    pub(crate) async fn get_execution(
        &mut self,
        execution_id: String,
    ) -> Result<Execution, ApiError> {
        self.throttle().await;
        self.service.get(&self.identity, &execution_id).await
    }

    /// `range` is the caller's already validated (or refused) `start` and `count`.
    pub(crate) async fn current_logs(
        &mut self,
        execution_id: Option<String>,
        range: Result<LogRange, InvalidArgument>,
    ) -> Result<Vec<LogEntry>, ApiError> {
        self.throttle().await;
        let range = range?;
        let current = self.execution.as_ref().map(|e| e.execution_id);
        // Reading the own execution sees every line logged before the call.
        let own = match execution_id.as_deref() {
            None => true,
            // Any spelling of the id the service accepts (braced, simple, URN) is the same id.
            Some(id) => current.is_some_and(|c| parse_execution_id(id).is_ok_and(|id| id == c)),
        };
        if own && let Some(log) = &self.log {
            log.flush().await?;
        }
        self.service
            .logs_in(&self.identity, current, execution_id.as_deref(), range)
            .await
    }

    pub(crate) fn write_log(
        &mut self,
        level: LogLevel,
        message: String,
        metadata: Option<String>,
    ) -> Result<(), ApiError> {
        let line = bifrost_core::values::log_line(level, message, metadata, &self.limits)?;
        match &self.log {
            Some(log) => log.write(line),
            None => tracing::info!(
                target: "bifrost::guest",
                level = %line.level,
                metadata = ?line.metadata,
                "{}",
                line.message
            ),
        }
        Ok(())
    }

    pub(crate) fn execution_id_text(&self) -> Option<String> {
        self.execution.as_ref().map(|e| e.execution_id.to_string())
    }

    pub(crate) fn workflow_name_text(&self) -> Option<String> {
        self.execution.as_ref().map(|e| e.workflow_name.clone())
    }

    pub(crate) fn parent_execution_id_text(&self) -> Option<String> {
        self.execution
            .as_ref()
            .and_then(|e| e.parent_execution_id)
            .map(|id| id.to_string())
    }

    /// The running execution as a parent, and what starts its children.
    fn as_parent(&self) -> Result<(Parent, Arc<dyn Children>), ApiError> {
        let execution = self
            .execution
            .as_ref()
            .ok_or(ApiError::NoExecutionContext)?;
        let children = self.children.clone().ok_or_else(|| {
            ApiError::Unavailable("this host starts no workflows from a workflow".into())
        })?;
        let parent = Parent {
            execution_id: execution.execution_id,
            identity: self.identity.clone(),
        };
        Ok((parent, children))
    }

    /// Starts `workflow_name` on `input` (JSON text) as a child of the running execution.
    pub(crate) async fn start_child(
        &mut self,
        workflow_name: String,
        input: String,
    ) -> Result<uuid::Uuid, ApiError> {
        let (parent, children) = self.as_parent()?;
        let input = bifrost_core::values::child_input(&input, &self.limits)?;
        self.throttle().await;
        // The child can read every line the parent logged before starting it (the
        // reference's context passing): they are in the live stream first. A stream that
        // cannot take them now keeps them queued (retried) and does not stop the child.
        if let Some(log) = &self.log
            && let Err(e) = log.flush().await
        {
            tracing::warn!(error = %e, "the parent's log lines could not reach the live stream before its child started");
        }
        children.start(&parent, &workflow_name, input).await
    }

    /// Waits for the running execution's child `execution_id`, at most `timeout_ms`.
    pub(crate) async fn wait_child(
        &mut self,
        execution_id: String,
        timeout_ms: Option<u64>,
    ) -> Result<Execution, ApiError> {
        let (parent, children) = self.as_parent()?;
        let child = parse_execution_id(&execution_id)?;
        self.throttle().await;
        let execution = children
            .wait(&parent, child, timeout_ms.map(Duration::from_millis))
            .await?;
        Ok(execution.redact_for(self.identity.is_platform_admin))
    }

    /// The deployed workflows this instance's caller may start.
    pub(crate) async fn deployed_workflows(&mut self) -> Result<Vec<Deployment>, ApiError> {
        let (_, children) = self.as_parent()?;
        self.throttle().await;
        children.workflows(&self.identity).await
    }

    pub(crate) async fn record_variable(
        &mut self,
        name: String,
        value: String,
    ) -> Result<(), ApiError> {
        let execution = self
            .execution
            .as_ref()
            .ok_or(ApiError::NoExecutionContext)?;
        self.service
            .set_variable(
                execution.execution_id,
                &name,
                &value,
                &mut self.variables,
                &self.limits,
            )
            .await
    }
}
