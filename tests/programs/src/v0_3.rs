//! A workflow built against `bifrost:executions@0.3.0` with wit-bindgen alone, until the
//! guest crate moves to it: what the host's new imports answer. It reads its parent from
//! `context` and from its own record, and calls each function of `workflows`.
//!
//! Input: `{"start": "<workflow name>", "input": "<JSON text>", "wait": "<execution id>"}`.
//! Result: `{"parent", "own_parent", "list", "start", "wait", "execute"}`; a call that
//! failed is `{"error": "<variant>", "message": ..., "parameter": ...}`.

#[allow(unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        world: "workflow",
        path: "../../wit",
    });
}

use bindings::bifrost::executions::{context, executions, types, workflows};
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
        types::Error::LimitReached(m) => json!({"error": "limit-reached", "message": m}),
        types::Error::Internal(m) => json!({"error": "internal", "message": m}),
    }
}

fn record(e: &types::WorkflowExecution) -> Value {
    json!({
        "execution_id": e.execution_id,
        "workflow_name": e.workflow_name,
        "status": format!("{:?}", e.status),
        "result": e.result,
        "error_message": e.error_message,
        "parent_execution_id": e.parent_execution_id,
    })
}

fn answer<T>(r: Result<T, types::Error>, ok: impl FnOnce(T) -> Value) -> Value {
    r.map_or_else(error, ok)
}

struct Workflow;

impl bindings::Guest for Workflow {
    fn run(input: String) -> Result<String, String> {
        let input: Value = serde_json::from_str(&input).map_err(|e| e.to_string())?;
        let name = input["start"].as_str().unwrap_or("hello").to_owned();
        let child_input = input["input"].as_str().unwrap_or("{}").to_owned();
        let wait_id = input["wait"].as_str().unwrap_or_default().to_owned();
        let own = context::execution_id();
        let own_parent = match &own {
            Some(id) => answer(executions::get(id), |e| json!(e.parent_execution_id)),
            None => Value::Null,
        };
        let result = json!({
            "parent": context::parent_execution_id(),
            "own_parent": own_parent,
            "list": answer(workflows::list(), |list| {
                list.iter()
                    .map(|w| json!({"name": w.name, "version": w.version}))
                    .collect()
            }),
            "start": answer(workflows::start(&name, &child_input), Value::String),
            "wait": answer(workflows::wait(&wait_id, Some(10)), |e| record(&e)),
            "execute": answer(workflows::execute(&name, &child_input), |e| record(&e)),
        });
        Ok(result.to_string())
    }
}

// The generated export glue is `unsafe` (canonical ABI entry points).
#[allow(unsafe_code)]
const _: () = {
    bindings::export!(Workflow with_types_in bindings);
};
