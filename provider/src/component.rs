//! The component's exports: WIT values in, the service's answers out, converted by the
//! same [`wit_conversions!`](bifrost_core::wit_conversions) as the host's.

use crate::bindings::exports::bifrost::executions::{
    context, executions, logging, types, workflows,
};
use crate::with_instance;
use bifrost_core::model::StreamId;
use bifrost_core::query::LogRange;
use bifrost_core::{ApiError, Identity};

bifrost_core::wit_conversions!(types, 0.3);

struct Provider;

// The generated export glue is `unsafe` (canonical ABI entry points); the rest is not.
#[allow(unsafe_code)]
const _: () = {
    crate::bindings::export!(Provider with_types_in crate::bindings);
};

impl executions::Guest for Provider {
    fn list(filter: types::ListFilter) -> Result<Vec<types::WorkflowExecution>, types::Error> {
        let rows = with_instance(|i| i.list(&filter.into()))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    fn list_page(
        filter: types::ListFilter,
        cursor: Option<String>,
    ) -> Result<types::ExecutionPage, types::Error> {
        let page = with_instance(|i| i.list_page(&filter.into(), cursor.as_deref()))?;
        Ok(types::ExecutionPage {
            executions: page.executions.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn get(execution_id: String) -> Result<types::WorkflowExecution, types::Error> {
        Ok(with_instance(|i| i.get(&execution_id))?.into())
    }

    fn get_current_logs(
        execution_id: Option<String>,
        start: Option<types::StreamId>,
        count: Option<u32>,
    ) -> Result<Vec<types::ExecutionLog>, types::Error> {
        let start = start.map_or(StreamId::MIN, Into::into);
        let range = LogRange::from_id(start, count).map_err(ApiError::from)?;
        let entries = with_instance(|i| i.logs_in(execution_id.as_deref(), range))?;
        Ok(entries.into_iter().map(Into::into).collect())
    }
}

impl logging::Guest for Provider {
    fn log(
        level: types::LogLevel,
        message: String,
        metadata: Option<String>,
    ) -> Result<(), types::Error> {
        Ok(with_instance(|i| i.log(level.into(), message, metadata))?)
    }
}

impl context::Guest for Provider {
    fn execution_id() -> Option<String> {
        with_instance(|i| Ok(i.current().map(|c| c.execution_id.to_string())))
            .ok()
            .flatten()
    }

    fn workflow_name() -> Option<String> {
        with_instance(|i| Ok(i.current().map(|c| c.workflow_name.clone())))
            .ok()
            .flatten()
    }

    fn caller() -> types::Caller {
        // Without a fixture: the nil user, with no name, organisation or admin rights.
        with_instance(|i| Ok(i.caller().into())).unwrap_or_else(|_| {
            (&Identity {
                user_id: uuid::Uuid::nil(),
                user_name: String::new(),
                organization_id: None,
                is_platform_admin: false,
            })
                .into()
        })
    }

    fn set_variable(name: String, value: String) -> Result<(), types::Error> {
        Ok(with_instance(|i| i.set_variable(&name, &value))?)
    }

    fn parent_execution_id() -> Option<String> {
        with_instance(|i| {
            Ok(i.current()
                .and_then(|c| c.parent_execution_id)
                .map(|id| id.to_string()))
        })
        .ok()
        .flatten()
    }
}

/// Children come from the fixture's `workflows`: each `start` records a child that has
/// already ended as the fixture says, so `wait` never waits (its timeout plays no part).
impl workflows::Guest for Provider {
    fn execute(
        workflow_name: String,
        input: String,
    ) -> Result<types::WorkflowExecution, types::Error> {
        let id = with_instance(|i| i.start(&workflow_name, &input, uuid::Uuid::new_v4()))?;
        Ok(with_instance(|i| i.wait(&id.to_string()))?.into())
    }

    fn start(workflow_name: String, input: String) -> Result<String, types::Error> {
        let id = with_instance(|i| i.start(&workflow_name, &input, uuid::Uuid::new_v4()))?;
        Ok(id.to_string())
    }

    fn wait(
        execution_id: String,
        _timeout_ms: Option<u64>,
    ) -> Result<types::WorkflowExecution, types::Error> {
        Ok(with_instance(|i| i.wait(&execution_id))?.into())
    }

    fn list() -> Result<Vec<types::WorkflowInfo>, types::Error> {
        Ok(with_instance(|i| {
            Ok(i.workflows()?
                .iter()
                .map(|w| types::WorkflowInfo {
                    name: w.name.clone(),
                    version: w.version.clone(),
                    deployed_at: bifrost_core::wit::datetime(&w.deployed_at),
                })
                .collect())
        })?)
    }
}
