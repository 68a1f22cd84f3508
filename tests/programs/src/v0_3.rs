//! A workflow built against `bifrost:executions@0.3.0` with wit-bindgen alone: what the
//! host's new imports answer, errors included, as the WIT types give them. It reads its parent from
//! `context` and from its own record, and calls each function of `workflows`.
//!
//! Input: `{"start": "<workflow name>", "input": "<the child's input, JSON text>",
//! "recurse": <bool: the child gets this very input>, "do": ["list", "start", "wait",
//! "execute"] (default all, in that order), "wait": "<execution id>" (default the child
//! just started), "timeout_ms": <wait's timeout>, "fan": <n children started, then waited
//! for>}`. Result: `{"parent", "own_parent"}` and
//! an answer for each call done; a call that failed is `{"error": "<variant>", "message":
//! ..., "parameter": ...}`.

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
        // wit-bindgen's `Debug` writes `ExecutionStatus::Success`.
        "status": format!("{:?}", e.status).rsplit("::").next().unwrap_or_default().to_owned(),
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
    fn run(input_text: String) -> Result<String, String> {
        let input: Value = serde_json::from_str(&input_text).map_err(|e| e.to_string())?;
        let name = input["start"].as_str().unwrap_or("hello").to_owned();
        // A child of the same workflow given this very input starts its own, down to the
        // depth limit.
        let child_input = if input["recurse"] == json!(true) {
            input_text.clone()
        } else {
            input["input"].as_str().unwrap_or("{}").to_owned()
        };
        let all = ["list", "start", "wait", "execute"];
        let wanted: Vec<String> = match input["do"].as_array() {
            Some(calls) => calls
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
            None => all.iter().map(|c| (*c).to_owned()).collect(),
        };
        let does = |call: &str| wanted.iter().any(|w| w == call);
        let own = context::execution_id();
        let mut result = json!({
            "parent": context::parent_execution_id(),
            "own_parent": match &own {
                Some(id) => answer(executions::get(id), |e| json!(e.parent_execution_id)),
                None => Value::Null,
            },
        });
        if does("list") {
            result["list"] = answer(workflows::list(), |list| {
                list.iter()
                    .map(|w| json!({"name": w.name, "version": w.version}))
                    .collect()
            });
        }
        let mut started = None;
        if does("start") {
            let r = workflows::start(&name, &child_input);
            started = r.as_ref().ok().cloned();
            result["start"] = answer(r, Value::String);
        }
        if does("wait") {
            // The id asked for, else the child just started.
            let id = input["wait"]
                .as_str()
                .map(str::to_owned)
                .or(started)
                .unwrap_or_default();
            let timeout = input["timeout_ms"].as_u64();
            result["wait"] = answer(workflows::wait(&id, timeout), |e| record(&e));
        }
        if does("execute") {
            result["execute"] = answer(workflows::execute(&name, &child_input), |e| record(&e));
        }
        // A fan-out: `fan` children started, then waited for one by one.
        if let Some(n) = input["fan"].as_u64() {
            let started: Vec<_> = (0..n)
                .map(|_| workflows::start(&name, &child_input))
                .collect();
            result["fan"] = started
                .into_iter()
                .map(|id| match id {
                    Ok(id) => answer(workflows::wait(&id, None), |e| record(&e)),
                    Err(e) => error(e),
                })
                .collect();
        }
        Ok(result.to_string())
    }
}

// The generated export glue is `unsafe` (canonical ABI entry points).
#[allow(unsafe_code)]
const _: () = {
    bindings::export!(Workflow with_types_in bindings);
};
