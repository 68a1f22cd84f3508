//! A workflow built against `bifrost:executions@0.2.0` with wit-bindgen alone, as a
//! component built before 0.3.0 is (the guest crate and the Python package then spoke 0.2.0):
//! the host must keep running it. It reads one execution and shows its times and log entry
//! ids as text, the way the guest crate shows them.
//!
//! Input: `{"get": "<execution id>"}`. Result: `{"created_at", "started_at",
//! "completed_at", "logs": [ids], "own_logs": <own entries read>}`; a failed call ends the
//! run with the error's debug text.

#[allow(unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        world: "workflow",
        path: "../../wit/0.2.0",
    });
}

use bifrost_types::{StreamId, Timestamp};
use bindings::bifrost::executions::{executions, logging, types};
use serde_json::{Value, json};

bifrost_types::wit_record_conversions!(types);

fn text(t: Option<types::Datetime>) -> Value {
    t.map_or(Value::Null, |t| json!(Timestamp::from(t).to_string()))
}

struct Workflow;

impl bindings::Guest for Workflow {
    fn run(input: String) -> Result<String, String> {
        let input: Value = serde_json::from_str(&input).map_err(|e| e.to_string())?;
        let id = input["get"].as_str().unwrap_or_default();
        let got = executions::get(id).map_err(|e| format!("{e:?}"))?;
        logging::log(types::LogLevel::Info, "read it", None).map_err(|e| format!("{e:?}"))?;
        let own = executions::get_current_logs(None, None, None).map_err(|e| format!("{e:?}"))?;
        let ids = |logs: &[types::ExecutionLog]| -> Vec<String> {
            logs.iter()
                .map(|l| StreamId::from(l.id).to_string())
                .collect()
        };
        Ok(json!({
            "created_at": text(Some(got.created_at)),
            "started_at": text(got.started_at),
            "completed_at": text(got.completed_at),
            "logs": ids(got.logs.as_deref().unwrap_or_default()),
            "own_logs": ids(&own),
        })
        .to_string())
    }
}

// The generated export glue is `unsafe` (canonical ABI entry points).
#[allow(unsafe_code)]
const _: () = {
    bindings::export!(Workflow with_types_in bindings);
};
