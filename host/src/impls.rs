//! The `Host` traits of the imports, written once for every version of the package: each
//! version's module (`v0_3.rs`, `v0_2.rs`, `v0_1.rs`) expands `host_impls!` over its own
//! bindings.

/// The `Host` traits of one version's bindings, answered by `ExecutionsCtx`'s methods
/// (`ctx.rs`), and `link`, which adds that version's imports to a linker, for the module
/// `context`, `executions`, `logging` and `types` of that version are imported in: `$range` turns that version's
/// `start` (of type `$start`) and `count` into a `LogRange`; the records are written by
/// that version's `wit_conversions!`.
///
/// A later version adds its own: `more: [interface, ...]` are linked too (their `Host`
/// impls written beside the expansion), and `context: { fn ... }` are more functions of
/// its `context`.
macro_rules! host_impls {
    (start: $start:ty, range: $range:expr
        $(, more: [$($more:ident),*])?
        $(, context: { $($context:item)* })?) => {
        pub(crate) fn link<T: Send + 'static>(
            linker: &mut wasmtime::component::Linker<T>,
            get: fn(&mut T) -> &mut ExecutionsCtx,
        ) -> wasmtime::Result<()> {
            types::add_to_linker::<T, HasExecutions>(linker, get)?;
            executions::add_to_linker::<T, HasExecutions>(linker, get)?;
            logging::add_to_linker::<T, HasExecutions>(linker, get)?;
            context::add_to_linker::<T, HasExecutions>(linker, get)?;
            $($($more::add_to_linker::<T, HasExecutions>(linker, get)?;)*)?
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

            $($($context)*)?
        }
    };
}

pub(crate) use host_impls;
