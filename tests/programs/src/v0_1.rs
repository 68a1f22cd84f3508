//! A workflow built against `bifrost:executions@0.1.0` (times and log entry ids as text),
//! with wit-bindgen alone, as a component built before 0.2.0 is: the host must keep running
//! it. It logs a line, records a variable, and returns what each import answered, with the
//! text fields as received.
//!
//! Input: `{"get": "<execution id>"}`. Result: `{"execution_id", "workflow_name",
//! "caller", "logs", "logs_from_second", "bad_start", "list", "get"}`; a call that failed
//! is `{"error": "<variant>", "parameter": ...}`.

#[allow(unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        world: "workflow",
        path: "../../wit/0.1.0",
    });
}

use bindings::bifrost::executions::{context, executions, logging, types};
use serde_json::{Value, json};

fn error(e: types::Error) -> Value {
    match e {
        types::Error::InvalidArgument(a) => {
            json!({"error": "invalid-argument", "parameter": a.parameter, "reason": a.reason})
        }
        types::Error::NotFound(m) => json!({"error": "not-found", "message": m}),
        types::Error::PermissionDenied(m) => json!({"error": "permission-denied", "message": m}),
        types::Error::NoExecutionContext => json!({"error": "no-execution-context"}),
        types::Error::Unavailable(m) => json!({"error": "unavailable", "message": m}),
        types::Error::TooLarge(m) => json!({"error": "too-large", "message": m}),
        types::Error::Internal(m) => json!({"error": "internal", "message": m}),
    }
}

/// An enum value's name (`Warning`; wit-bindgen's `Debug` writes `LogLevel::Warning`).
fn name(value: impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    debug.rsplit("::").next().unwrap_or_default().to_owned()
}

fn log_entry(l: &types::ExecutionLog) -> Value {
    json!({
        "id": l.id,
        "execution_id": l.execution_id,
        "level": name(l.level),
        "message": l.message,
        "metadata": l.metadata,
        "timestamp": l.timestamp,
    })
}

fn execution(e: &types::WorkflowExecution) -> Value {
    json!({
        "execution_id": e.execution_id,
        "workflow_name": e.workflow_name,
        "status": name(e.status),
        "input_data": e.input_data,
        "result": e.result,
        "started_at": e.started_at,
        "completed_at": e.completed_at,
        "created_at": e.created_at,
        "logs": e.logs.as_ref().map(|logs| logs.iter().map(log_entry).collect::<Vec<_>>()),
    })
}

fn logs(start: &str) -> Value {
    match executions::get_current_logs(None, Some(start), None) {
        Ok(entries) => entries.iter().map(log_entry).collect(),
        Err(e) => error(e),
    }
}

struct Workflow;

impl bindings::Guest for Workflow {
    fn run(input: String) -> Result<String, String> {
        let input: Value = serde_json::from_str(&input).map_err(|e| e.to_string())?;
        let get_id = input["get"].as_str().unwrap_or_default().to_owned();

        logging::log(types::LogLevel::Info, "first", None).map_err(|e| format!("{e:?}"))?;
        logging::log(types::LogLevel::Warning, "second", Some(r#"{"v":1}"#))
            .map_err(|e| format!("{e:?}"))?;
        context::set_variable("version", r#""0.1.0""#).map_err(|e| format!("{e:?}"))?;

        let all = logs("0");
        // Reading from the second entry's id, given as text, as 0.1.0 takes it.
        let second = all[1]["id"].as_str().unwrap_or("?").to_owned();
        let list = match executions::list(&types::ListFilter {
            workflow_name: None,
            status: None,
            start_date: None,
            end_date: None,
            limit: Some(1000),
        }) {
            Ok(rows) => rows.iter().map(execution).collect(),
            Err(e) => error(e),
        };
        let get = match executions::get(&get_id) {
            Ok(e) => execution(&e),
            Err(e) => error(e),
        };
        let caller = context::caller();
        Ok(json!({
            "execution_id": context::execution_id(),
            "workflow_name": context::workflow_name(),
            "caller": {"user_id": caller.user_id, "is_platform_admin": caller.is_platform_admin},
            "logs": all,
            "logs_from_second": logs(&second),
            "bad_start": logs("soon"),
            "list": list,
            "get": get,
        })
        .to_string())
    }
}

// The generated export glue is `unsafe` (canonical ABI entry points).
#[allow(unsafe_code)]
const _: () = {
    bindings::export!(Workflow with_types_in bindings);
};
