//! The imports of `bifrost:executions@0.1.0`, for components built against it: the same
//! calls as 0.2.0 (the methods of [`ExecutionsCtx`] in `ctx.rs`), with times and log entry
//! ids as text and no `log-lines-dropped`.

use bifrost_core::ApiError;
use bifrost_core::query::LogRange;
use wasmtime::component::Linker;

use crate::bindings::v0_1::bifrost::executions::{context, executions, logging, types};
use crate::ctx::{ExecutionsCtx, HasExecutions};

bifrost_core::wit_conversions!(types, 0.1);

pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut ExecutionsCtx,
) -> wasmtime::Result<()> {
    types::add_to_linker::<T, HasExecutions>(linker, get)?;
    executions::add_to_linker::<T, HasExecutions>(linker, get)?;
    logging::add_to_linker::<T, HasExecutions>(linker, get)?;
    context::add_to_linker::<T, HasExecutions>(linker, get)?;
    Ok(())
}

impl types::Host for ExecutionsCtx {
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

    async fn get(&mut self, execution_id: String) -> Result<types::WorkflowExecution, ApiError> {
        Ok(self.get_execution(execution_id).await?.into())
    }

    async fn get_current_logs(
        &mut self,
        execution_id: Option<String>,
        start: Option<String>,
        count: Option<u32>,
    ) -> Result<Vec<types::ExecutionLog>, ApiError> {
        let range = LogRange::validate(start.as_deref(), count);
        let entries = self.current_logs(execution_id, range).await?;
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
