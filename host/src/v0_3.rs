//! The imports of `bifrost:executions@0.3.0`, the current version: 0.2.0's, with the
//! parent execution in the record and in `context`, and the `workflows` interface (child
//! executions, answered by the context's [`Children`](bifrost_core::children::Children)).

use bifrost_core::model::StreamId;
use bifrost_core::query::LogRange;
use bifrost_core::wit::{datetime, uuid_text};
use bifrost_core::{ApiError, InvalidArgument};

use crate::bindings::bifrost::executions::{context, executions, logging, types, workflows};
use crate::ctx::{ExecutionsCtx, HasExecutions};
use crate::impls::host_impls;

bifrost_core::wit_conversions!(types, 0.3);

host_impls!(
    start: types::StreamId,
    range: |start, count| LogRange::from_id(start.map_or(StreamId::MIN, Into::into), count),
    more: [workflows],
    context: {
        async fn parent_execution_id(&mut self) -> wasmtime::Result<Option<String>> {
            Ok(self.parent_execution_id_text())
        }
    }
);

impl workflows::Host for ExecutionsCtx {
    async fn execute(
        &mut self,
        workflow_name: String,
        input: String,
    ) -> Result<types::WorkflowExecution, ApiError> {
        let child = self.start_child(workflow_name, input).await?;
        Ok(self.wait_child(uuid_text(&child), None).await?.into())
    }

    async fn start(&mut self, workflow_name: String, input: String) -> Result<String, ApiError> {
        Ok(uuid_text(&self.start_child(workflow_name, input).await?))
    }

    async fn wait(
        &mut self,
        execution_id: String,
        timeout_ms: Option<u64>,
    ) -> Result<types::WorkflowExecution, ApiError> {
        Ok(self.wait_child(execution_id, timeout_ms).await?.into())
    }

    async fn list(&mut self) -> Result<Vec<types::WorkflowInfo>, ApiError> {
        Ok(self
            .deployed_workflows()
            .await?
            .into_iter()
            .map(|d| types::WorkflowInfo {
                name: d.name,
                version: d.hash,
                deployed_at: datetime(&d.deployed_at),
            })
            .collect())
    }
}
