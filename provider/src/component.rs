//! The component's exports: WIT values in, the [`Store`](crate::store::Store)'s answers out.

use bifrost_query::query::ListFilter;
use bifrost_query::values::rfc3339;
use bifrost_types::{ExecutionStatus, LogLevel};

use crate::bindings::exports::bifrost::executions::{context, executions, logging, types};
use bifrost_query::model::{Execution, LogEntry};

use crate::store;
use crate::with_store;

struct Provider;

// The generated export glue is `unsafe` (canonical ABI entry points); the rest is not.
#[allow(unsafe_code)]
const _: () = {
    crate::bindings::export!(Provider with_types_in crate::bindings);
};

fn error_to_wit(e: store::Error) -> types::Error {
    match e {
        store::Error::NotFound(id) => types::Error::NotFound(id),
        store::Error::PermissionDenied(id) => types::Error::PermissionDenied(id),
        store::Error::InvalidArgument(e) => types::Error::InvalidArgument(types::InvalidArgument {
            parameter: e.parameter.to_owned(),
            reason: e.reason,
        }),
        store::Error::NoExecutionContext => types::Error::NoExecutionContext,
        store::Error::Unavailable(m) => types::Error::Unavailable(m),
        store::Error::TooLarge(m) => types::Error::TooLarge(m),
    }
}

fn status_to_wit(s: ExecutionStatus) -> types::ExecutionStatus {
    use ExecutionStatus as M;
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

fn status_from_wit(s: types::ExecutionStatus) -> ExecutionStatus {
    use ExecutionStatus as M;
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

fn level_to_wit(l: LogLevel) -> types::LogLevel {
    match l {
        LogLevel::Debug => types::LogLevel::Debug,
        LogLevel::Info => types::LogLevel::Info,
        LogLevel::Warning => types::LogLevel::Warning,
        LogLevel::Error => types::LogLevel::Error,
        LogLevel::Critical => types::LogLevel::Critical,
    }
}

fn level_from_wit(l: types::LogLevel) -> LogLevel {
    match l {
        types::LogLevel::Debug => LogLevel::Debug,
        types::LogLevel::Info => LogLevel::Info,
        types::LogLevel::Warning => LogLevel::Warning,
        types::LogLevel::Error => LogLevel::Error,
        types::LogLevel::Critical => LogLevel::Critical,
    }
}

fn log_to_wit(e: LogEntry) -> types::ExecutionLog {
    types::ExecutionLog {
        id: e.id.to_string(),
        execution_id: e.execution_id.to_string(),
        level: level_to_wit(e.level),
        message: e.message,
        metadata: e.metadata.map(|m| m.as_str().to_owned()),
        timestamp: rfc3339(&e.timestamp),
    }
}

fn execution_to_wit(e: Execution) -> types::WorkflowExecution {
    types::WorkflowExecution {
        execution_id: e.id.to_string(),
        workflow_name: e.workflow_name,
        org_id: e.organization_id.map(|o| o.to_string()),
        form_id: e.form_id.map(|f| f.to_string()),
        executed_by: e.executed_by.to_string(),
        executed_by_name: e.executed_by_name,
        status: status_to_wit(e.status),
        input_data: e.parameters.to_string(),
        result: e.result.map(|r| r.to_string()),
        result_type: e.result_type,
        error_message: e.error_message,
        duration_ms: e.duration_ms,
        started_at: e.started_at.as_ref().map(rfc3339),
        completed_at: e.completed_at.as_ref().map(rfc3339),
        created_at: rfc3339(&e.created_at),
        logs: e.logs.map(|l| l.into_iter().map(log_to_wit).collect()),
        variables: e.variables.map(|v| v.to_string()),
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

impl executions::Guest for Provider {
    fn list(filter: types::ListFilter) -> Result<Vec<types::WorkflowExecution>, types::Error> {
        with_store(|s| s.list(&filter_from_wit(filter)))
            .map(|rows| rows.into_iter().map(execution_to_wit).collect())
            .map_err(error_to_wit)
    }

    fn list_page(
        filter: types::ListFilter,
        cursor: Option<String>,
    ) -> Result<types::ExecutionPage, types::Error> {
        with_store(|s| s.list_page(&filter_from_wit(filter), cursor.as_deref()))
            .map(|p| types::ExecutionPage {
                executions: p.executions.into_iter().map(execution_to_wit).collect(),
                next_cursor: p.next_cursor,
            })
            .map_err(error_to_wit)
    }

    fn get(execution_id: String) -> Result<types::WorkflowExecution, types::Error> {
        with_store(|s| s.get(&execution_id))
            .map(execution_to_wit)
            .map_err(error_to_wit)
    }

    fn get_current_logs(
        execution_id: Option<String>,
        start: Option<String>,
        count: Option<u32>,
    ) -> Result<Vec<types::ExecutionLog>, types::Error> {
        with_store(|s| s.logs(execution_id.as_deref(), start.as_deref(), count))
            .map(|entries| entries.into_iter().map(log_to_wit).collect())
            .map_err(error_to_wit)
    }
}

impl logging::Guest for Provider {
    fn log(
        level: types::LogLevel,
        message: String,
        metadata: Option<String>,
    ) -> Result<(), types::Error> {
        with_store(|s| s.log(level_from_wit(level), message, metadata, chrono::Utc::now()))
            .map_err(error_to_wit)
    }
}

impl context::Guest for Provider {
    fn execution_id() -> Option<String> {
        with_store(|s| Ok(s.current().map(|c| c.execution_id.to_string())))
            .ok()
            .flatten()
    }

    fn workflow_name() -> Option<String> {
        with_store(|s| Ok(s.current().map(|c| c.workflow_name.clone())))
            .ok()
            .flatten()
    }

    fn caller() -> types::Caller {
        with_store(|s| {
            let c = s.caller();
            Ok(types::Caller {
                user_id: c.user_id.to_string(),
                user_name: c.user_name.clone(),
                org_id: c.organization_id.map(|o| o.to_string()),
                is_platform_admin: c.is_platform_admin,
            })
        })
        .unwrap_or_else(|_| types::Caller {
            user_id: uuid::Uuid::nil().to_string(),
            user_name: String::new(),
            org_id: None,
            is_platform_admin: false,
        })
    }

    fn set_variable(name: String, value: String) -> Result<(), types::Error> {
        with_store(|s| s.set_variable(&name, &value)).map_err(error_to_wit)
    }
}
