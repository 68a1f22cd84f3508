//! The per-instance context and the host side of the WIT imports.

use bifrost_core::InvalidArgument;
use bifrost_core::limits::Limits;
use bifrost_core::model::{Execution, LogEntry, LogLevel, LogLine, StreamId};
use bifrost_core::query::{ListFilter, LogRange, parse_execution_id};
use bifrost_core::service::ExecutionPage;
use bifrost_core::values::VariableSizes;
use bifrost_core::{ApiError, ExecutionContext, ExecutionsService, Identity};
use wasmtime::component::{HasData, Linker};

use crate::bindings::bifrost::executions::{context, executions, logging, types};
use crate::rate::RateLimiter;
use crate::writer::LogWriter;

bifrost_core::wit_conversions!(types);

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

/// Adds the `executions`, `logging` and `context` imports to `linker`, in every version of
/// the package this host serves (`bifrost:executions@0.2.0` and `@0.1.0`), so that
/// components built against either run; `get` finds the [`ExecutionsCtx`] in the store's
/// data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut ExecutionsCtx,
) -> wasmtime::Result<()> {
    link(linker, get)?;
    crate::v0_1::link(linker, get)
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
        let line = LogLine::from_guest(level, message, metadata, &self.limits)?;
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

/// The `Host` traits of one version's bindings, answered by the methods above, and `link`,
/// which adds that version's imports to a linker, for the module `context`, `executions`,
/// `logging` and `types` of that version are imported in: `$range` turns that version's
/// `start` (of type `$start`) and `count` into a [`LogRange`]; the records are written by
/// that version's `wit_conversions!`.
macro_rules! host_impls {
    (start: $start:ty, range: $range:expr) => {
        pub(crate) fn link<T: Send + 'static>(
            linker: &mut wasmtime::component::Linker<T>,
            get: fn(&mut T) -> &mut ExecutionsCtx,
        ) -> wasmtime::Result<()> {
            types::add_to_linker::<T, HasExecutions>(linker, get)?;
            executions::add_to_linker::<T, HasExecutions>(linker, get)?;
            logging::add_to_linker::<T, HasExecutions>(linker, get)?;
            context::add_to_linker::<T, HasExecutions>(linker, get)?;
            Ok(())
        }

        impl types::Host for ExecutionsCtx {
            /// Every [`ApiError`] is an answer to the guest, never a trap: the host's own
            /// failures are the WIT `internal` error.
            fn convert_error(&mut self, err: ApiError) -> wasmtime::Result<types::Error> {
                Ok(err.into())
            }
        }

        impl executions::Host for ExecutionsCtx {
            async fn list(
                &mut self,
                filter: types::ListFilter,
            ) -> Result<Vec<types::WorkflowExecution>, ApiError> {
                let rows = self.list_executions(filter.into()).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn list_page(
                &mut self,
                filter: types::ListFilter,
                cursor: Option<String>,
            ) -> Result<types::ExecutionPage, ApiError> {
                let page = self.list_executions_page(filter.into(), cursor).await?;
                Ok(types::ExecutionPage {
                    executions: page.executions.into_iter().map(Into::into).collect(),
                    next_cursor: page.next_cursor,
                })
            }

            async fn get(
                &mut self,
                execution_id: String,
            ) -> Result<types::WorkflowExecution, ApiError> {
                Ok(self.get_execution(execution_id).await?.into())
            }

            async fn get_current_logs(
                &mut self,
                execution_id: Option<String>,
                start: Option<$start>,
                count: Option<u32>,
            ) -> Result<Vec<types::ExecutionLog>, ApiError> {
                let range: fn(Option<$start>, Option<u32>) -> Result<LogRange, InvalidArgument> =
                    $range;
                let entries = self.current_logs(execution_id, range(start, count)).await?;
                Ok(entries.into_iter().map(Into::into).collect())
            }
        }

        impl logging::Host for ExecutionsCtx {
            async fn log(
                &mut self,
                level: types::LogLevel,
                message: String,
                metadata: Option<String>,
            ) -> Result<(), ApiError> {
                self.write_log(level.into(), message, metadata)
            }
        }

        impl context::Host for ExecutionsCtx {
            async fn execution_id(&mut self) -> wasmtime::Result<Option<String>> {
                Ok(self.execution_id_text())
            }

            async fn workflow_name(&mut self) -> wasmtime::Result<Option<String>> {
                Ok(self.workflow_name_text())
            }

            async fn caller(&mut self) -> wasmtime::Result<types::Caller> {
                Ok(self.identity().into())
            }

            async fn set_variable(&mut self, name: String, value: String) -> Result<(), ApiError> {
                self.record_variable(name, value).await
            }
        }
    };
}

pub(crate) use host_impls;

// The imports of the current version, 0.2.0: `start` is a `stream-id` record.
host_impls!(
    start: types::StreamId,
    range: |start, count| LogRange::from_id(start.map_or(StreamId::MIN, Into::into), count)
);
