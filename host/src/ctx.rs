//! The per-instance context and the host side of the WIT imports.

use chrono::Utc;
use wasmtime::component::{HasData, Linker};

use crate::error::{ApiError, StoreError};
use crate::identity::{ExecutionContext, Identity};
use crate::limits::{Limits, RateLimiter, truncate_with_marker};
use crate::logs::LogWriter;
use crate::model::{self, Execution, LogEntry, LogLine, rfc3339};
use crate::query::{ListFilter, parse_execution_id};
use crate::service::ExecutionsService;
use bifrost_query::values::{
    Rejection, VariableSizes, parse_metadata, parse_variable, storable_text,
};

#[allow(missing_docs)]
pub(crate) mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "workflow",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

use generated::bifrost::executions::{context, executions, logging, types};

pub use generated::{Workflow, WorkflowPre};

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
        }
    }

    /// Applies `limits` instead of [`Limits::default`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.queries = RateLimiter::new(limits.max_queries_per_second);
        self.limits = limits;
        self
    }

    /// Waits as long as the query rate limit asks.
    async fn throttle(&mut self) {
        let wait = self.queries.take();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
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
}

struct HasExecutions;

impl HasData for HasExecutions {
    type Data<'a> = &'a mut ExecutionsCtx;
}

/// Adds the `executions`, `logging` and `context` imports to `linker`; `get` finds the
/// [`ExecutionsCtx`] in the store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut ExecutionsCtx,
) -> wasmtime::Result<()> {
    types::add_to_linker::<T, HasExecutions>(linker, get)?;
    executions::add_to_linker::<T, HasExecutions>(linker, get)?;
    logging::add_to_linker::<T, HasExecutions>(linker, get)?;
    context::add_to_linker::<T, HasExecutions>(linker, get)?;
    Ok(())
}

impl From<ApiError> for types::Error {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(id) => Self::NotFound(id),
            ApiError::PermissionDenied(id) => Self::PermissionDenied(id),
            ApiError::InvalidArgument { parameter, reason } => {
                Self::InvalidArgument(types::InvalidArgument {
                    parameter: parameter.to_owned(),
                    reason,
                })
            }
            ApiError::NoExecutionContext => Self::NoExecutionContext,
            ApiError::Unavailable(m) => Self::Unavailable(m),
            ApiError::TooLarge(m) => Self::TooLarge(m),
            ApiError::Internal(m) => Self::Internal(m),
        }
    }
}

fn status_to_wit(s: model::ExecutionStatus) -> types::ExecutionStatus {
    use model::ExecutionStatus as M;
    use types::ExecutionStatus as W;
    match s {
        M::Scheduled => W::Scheduled,
        M::Pending => W::Pending,
        M::Running => W::Running,
        M::Success => W::Success,
        M::Failed => W::Failed,
        M::Timeout => W::Timeout,
        M::Stuck => W::Stuck,
        M::CompletedWithErrors => W::CompletedWithErrors,
        M::Cancelling => W::Cancelling,
        M::Cancelled => W::Cancelled,
    }
}

fn status_from_wit(s: types::ExecutionStatus) -> model::ExecutionStatus {
    use model::ExecutionStatus as M;
    use types::ExecutionStatus as W;
    match s {
        W::Scheduled => M::Scheduled,
        W::Pending => M::Pending,
        W::Running => M::Running,
        W::Success => M::Success,
        W::Failed => M::Failed,
        W::Timeout => M::Timeout,
        W::Stuck => M::Stuck,
        W::CompletedWithErrors => M::CompletedWithErrors,
        W::Cancelling => M::Cancelling,
        W::Cancelled => M::Cancelled,
    }
}

fn level_to_wit(l: model::LogLevel) -> types::LogLevel {
    use model::LogLevel as M;
    use types::LogLevel as W;
    match l {
        M::Debug => W::Debug,
        M::Info => W::Info,
        M::Warning => W::Warning,
        M::Error => W::Error,
        M::Critical => W::Critical,
    }
}

fn level_from_wit(l: types::LogLevel) -> model::LogLevel {
    use model::LogLevel as M;
    use types::LogLevel as W;
    match l {
        W::Debug => M::Debug,
        W::Info => M::Info,
        W::Warning => M::Warning,
        W::Error => M::Error,
        W::Critical => M::Critical,
    }
}

/// A UUID in canonical (hyphenated, lower-case) text, without the formatting machinery.
fn uuid_text(id: &uuid::Uuid) -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

/// A JSON value as compact text, written straight into a buffer.
fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
}

fn log_to_wit(e: LogEntry) -> types::ExecutionLog {
    types::ExecutionLog {
        id: e.id.to_string(),
        execution_id: uuid_text(&e.execution_id),
        level: level_to_wit(e.level),
        message: e.message,
        metadata: e.metadata.as_ref().map(|m| m.as_str().to_owned()),
        timestamp: rfc3339(&e.timestamp),
    }
}

fn execution_to_wit(e: Execution) -> types::WorkflowExecution {
    types::WorkflowExecution {
        execution_id: uuid_text(&e.id),
        workflow_name: e.workflow_name,
        org_id: e.organization_id.as_ref().map(uuid_text),
        form_id: e.form_id.as_ref().map(uuid_text),
        executed_by: uuid_text(&e.executed_by),
        executed_by_name: e.executed_by_name,
        status: status_to_wit(e.status),
        input_data: json_text(&e.parameters),
        result: e.result.as_ref().map(json_text),
        result_type: e.result_type,
        error_message: e.error_message,
        duration_ms: e.duration_ms,
        started_at: e.started_at.as_ref().map(rfc3339),
        completed_at: e.completed_at.as_ref().map(rfc3339),
        created_at: rfc3339(&e.created_at),
        logs: e
            .logs
            .map(|logs| logs.into_iter().map(log_to_wit).collect()),
        variables: e.variables.as_ref().map(json_text),
        session_id: e.session_id,
        peak_memory_bytes: e.peak_memory_bytes,
        cpu_total_seconds: e.cpu_total_seconds,
    }
}

fn filter_from_wit(f: types::ListFilter) -> ListFilter {
    ListFilter {
        workflow_name: f.workflow_name,
        status: f.status.map(status_from_wit),
        start_date: f.start_date,
        end_date: f.end_date,
        limit: f.limit,
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Invalid(e) => e.into(),
            Rejection::TooLarge(m) => ApiError::TooLarge(m),
        }
    }
}

type Answer<T> = wasmtime::Result<Result<T, types::Error>>;

impl types::Host for ExecutionsCtx {}

impl executions::Host for ExecutionsCtx {
    async fn list(&mut self, filter: types::ListFilter) -> Answer<Vec<types::WorkflowExecution>> {
        self.throttle().await;
        let found = self
            .service
            .list(&self.identity, &filter_from_wit(filter))
            .await;
        Ok(found
            .map(|rows| rows.into_iter().map(execution_to_wit).collect())
            .map_err(Into::into))
    }

    async fn list_page(
        &mut self,
        filter: types::ListFilter,
        cursor: Option<String>,
    ) -> Answer<types::ExecutionPage> {
        self.throttle().await;
        let page = self
            .service
            .list_page(&self.identity, &filter_from_wit(filter), cursor.as_deref())
            .await;
        Ok(page
            .map(|p| types::ExecutionPage {
                executions: p.executions.into_iter().map(execution_to_wit).collect(),
                next_cursor: p.next_cursor,
            })
            .map_err(Into::into))
    }

    async fn get(&mut self, execution_id: String) -> Answer<types::WorkflowExecution> {
        self.throttle().await;
        let found = self.service.get(&self.identity, &execution_id).await;
        Ok(found.map(execution_to_wit).map_err(Into::into))
    }

    async fn get_current_logs(
        &mut self,
        execution_id: Option<String>,
        start: Option<String>,
        count: Option<u32>,
    ) -> Answer<Vec<types::ExecutionLog>> {
        self.throttle().await;
        let current = self.execution.as_ref().map(|e| e.execution_id);
        // Reading the own execution sees every line logged before the call.
        let own = match execution_id.as_deref() {
            None => true,
            // Any spelling of the id the service accepts (braced, simple, URN) is the same id.
            Some(id) => current.is_some_and(|c| parse_execution_id(id).is_ok_and(|id| id == c)),
        };
        if own
            && let Some(log) = &self.log
            && let Err(e) = log.flush().await
        {
            return Ok(Err(e.into()));
        }
        let found = self
            .service
            .logs(
                &self.identity,
                current,
                execution_id.as_deref(),
                start.as_deref(),
                count,
            )
            .await;
        Ok(found
            .map(|entries| entries.into_iter().map(log_to_wit).collect())
            .map_err(Into::into))
    }
}

impl logging::Host for ExecutionsCtx {
    async fn log(
        &mut self,
        level: types::LogLevel,
        message: String,
        metadata: Option<String>,
    ) -> wasmtime::Result<Result<(), types::Error>> {
        let metadata = match parse_metadata(metadata, &self.limits) {
            Ok(m) => m,
            Err(e) => return Ok(Err(ApiError::from(e).into())),
        };
        let line = LogLine {
            level: level_from_wit(level),
            message: truncate_with_marker(
                storable_text(message),
                self.limits.max_log_message_bytes,
            ),
            metadata,
            timestamp: Utc::now(),
        };
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
        Ok(Ok(()))
    }
}

impl context::Host for ExecutionsCtx {
    async fn execution_id(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.execution.as_ref().map(|e| e.execution_id.to_string()))
    }

    async fn workflow_name(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.execution.as_ref().map(|e| e.workflow_name.clone()))
    }

    async fn caller(&mut self) -> wasmtime::Result<types::Caller> {
        Ok(types::Caller {
            user_id: self.identity.user_id.to_string(),
            user_name: self.identity.user_name.clone(),
            org_id: self.identity.organization_id.map(|o| o.to_string()),
            is_platform_admin: self.identity.is_platform_admin,
        })
    }

    async fn set_variable(&mut self, name: String, value: String) -> Answer<()> {
        let Some(execution) = &self.execution else {
            return Ok(Err(ApiError::NoExecutionContext.into()));
        };
        let checked = parse_variable(&name, &value, &self.limits).and_then(|(name, parsed)| {
            let size = self.variables.check(&name, value.len(), &self.limits)?;
            Ok((name, parsed, size))
        });
        let (name, value, size) = match checked {
            Ok(v) => v,
            Err(e) => return Ok(Err(ApiError::from(e).into())),
        };
        let done = self
            .service
            .store()
            .set_variable(execution.execution_id, &name, &value)
            .await;
        if done.is_ok() {
            self.variables.record(&name, size);
        }
        Ok(done.map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound(execution.execution_id.to_string()).into(),
            other => ApiError::from(other).into(),
        }))
    }
}

#[cfg(test)]
mod props;
