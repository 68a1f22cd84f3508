//! How a run ended, and what is recorded of it: the status, the result and the error
//! message, as pure functions of the ending.

use bifrost_core::limits::{Limits, truncate_with_marker};
use bifrost_core::model::ExecutionStatus;
use bifrost_core::storable::{storable_text, unstorable_json};

use wasmtime::Trap;

use crate::output::OutputTail;

/// How a call of a workflow's `run` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// `run` returned `ok` with this text.
    Returned(String),
    /// `run` returned `err` with this message, or the instance trapped (the message says
    /// why), or it reached the memory limit.
    Failed(String),
    /// The deadline passed.
    TimedOut,
    /// The execution was cancelled while it ran.
    Cancelled,
}

/// What [`Runner::execute`] gives back.
#[derive(Debug)]
pub struct Executed {
    /// How the call ended.
    pub ended: Ended,
    /// CPU time the instance used (guest code and the host code it called synchronously).
    pub cpu: std::time::Duration,
    /// Peak linear memory of the instance.
    pub peak_memory_bytes: usize,
    /// The log lines kept, with their stream ids, and what the log caps dropped.
    pub logs: bifrost_host::WriterOutcome,
}

/// An instance's call, its log not yet closed: what [`Runner::execute`] and a recorded
/// run share.
pub(crate) struct Ran {
    pub ended: Ended,
    pub cpu: std::time::Duration,
    pub peak_memory_bytes: usize,
    /// Closes once every log writer of the instance is gone (they were in its store).
    pub log_task: bifrost_host::LogWriterTask,
}

/// `message` after what the guest last wrote to stderr, if anything: the cause first.
pub(crate) fn with_cause(stderr_tail: Option<&OutputTail>, message: String) -> String {
    match stderr_tail.and_then(OutputTail::text) {
        Some(cause) => format!("{cause}\n{message}"),
        None => message,
    }
}

/// Frames of the guest's backtrace kept in a trap's error message.
const TRAP_FRAMES: usize = 8;

/// "workflow trapped: <reason>" and the innermost frames of the guest's backtrace (a stack
/// overflow's full backtrace has thousands of frames).
pub(crate) fn trap_message(e: &wasmtime::Error) -> String {
    let reason = match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => e.root_cause().to_string(),
    };
    let mut message = format!("workflow trapped: {reason}");
    if let Some(bt) = e.downcast_ref::<wasmtime::WasmBacktrace>() {
        let frames = bt.frames();
        for f in frames.iter().take(TRAP_FRAMES) {
            match f.func_name() {
                Some(name) => {
                    message.push_str(&format!("\n    at {:#}", rustc_demangle::demangle(name)))
                }
                None => message.push_str("\n    at <unknown>"),
            }
        }
        if frames.len() > TRAP_FRAMES {
            message.push_str(&format!(
                "\n    ... {} more frames",
                frames.len() - TRAP_FRAMES
            ));
        }
    }
    message
}

/// The rendering hint of a result: `text` for a string, `html` for a string that starts
/// with a tag, `json` for everything else.
fn result_type(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) if s.trim_start().starts_with('<') => "html",
        serde_json::Value::String(_) => "text",
        _ => "json",
    }
    .to_owned()
}

/// What is recorded of a run that ended as `ended`: its status, its result (JSON, kept as
/// it is), the result's rendering hint and its error message (made storable and cut at
/// `limits.max_error_message_bytes`). A result over `limits.max_result_bytes`, or one that
/// is not JSON or that no store keeps as it is (U+0000, a number out of range:
/// [`unstorable_json`]), fails the execution, saying where; a deadline of `deadline_ms`
/// past is a `Timeout`.
pub(crate) fn record(
    ended: Ended,
    limits: &Limits,
    deadline_ms: u128,
) -> (
    ExecutionStatus,
    Option<serde_json::Value>,
    Option<String>,
    Option<String>,
) {
    let (status, result, error_message) = match ended {
        Ended::Returned(text) if text.len() > limits.max_result_bytes => (
            ExecutionStatus::Failed,
            None,
            Some(format!(
                "workflow result of {} bytes exceeds the limit of {} bytes",
                text.len(),
                limits.max_result_bytes
            )),
        ),
        Ended::Returned(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => match unstorable_json(&v) {
                None => (ExecutionStatus::Success, Some(v), None),
                Some(reason) => (
                    ExecutionStatus::Failed,
                    None,
                    Some(format!(
                        "workflow returned a result that cannot be stored: {reason}"
                    )),
                ),
            },
            Err(e) => (
                ExecutionStatus::Failed,
                None,
                Some(format!("workflow returned a result that is not JSON: {e}")),
            ),
        },
        Ended::Failed(msg) => (ExecutionStatus::Failed, None, Some(msg)),
        Ended::TimedOut => (
            ExecutionStatus::Timeout,
            None,
            Some(format!(
                "execution exceeded its deadline of {deadline_ms} ms"
            )),
        ),
        Ended::Cancelled => (
            ExecutionStatus::Cancelled,
            None,
            Some("execution was cancelled while it ran".to_owned()),
        ),
    };
    let error_message = error_message
        .map(|m| truncate_with_marker(storable_text(m), limits.max_error_message_bytes));
    let result_type = result.as_ref().map(result_type);
    (status, result, result_type, error_message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_types() {
        assert_eq!(result_type(&serde_json::json!({"a": 1})), "json");
        assert_eq!(result_type(&serde_json::json!([1])), "json");
        assert_eq!(result_type(&serde_json::json!(3)), "json");
        assert_eq!(result_type(&serde_json::json!("done")), "text");
        assert_eq!(result_type(&serde_json::json!("  <p>hi</p>")), "html");
    }

    fn limits_wide() -> Limits {
        Limits {
            max_error_message_bytes: 200,
            ..Limits::default()
        }
    }

    #[test]
    fn what_is_recorded_of_each_ending() {
        let limits = Limits {
            max_result_bytes: 20,
            max_error_message_bytes: 60,
            ..Limits::default()
        };
        let ok = record(Ended::Returned(r#"{"n": 1}"#.into()), &limits, 1000);
        assert_eq!(ok.0, ExecutionStatus::Success);
        assert_eq!(ok.1, Some(json!({"n": 1})));
        assert_eq!(ok.2.as_deref(), Some("json"));
        assert_eq!(ok.3, None);

        let big = record(Ended::Returned("\"".repeat(30)), &limits, 1000);
        assert_eq!(big.0, ExecutionStatus::Failed);
        assert!(big.3.unwrap().starts_with("workflow result of 30 bytes"));

        let not_json = record(Ended::Returned("nope".into()), &limits, 1000);
        assert_eq!(not_json.0, ExecutionStatus::Failed);
        // "workflow returned a result that is not JSON: …", cut at 60 bytes.
        assert!(
            not_json
                .3
                .unwrap()
                .starts_with("workflow returned a result")
        );

        // A result holding U+0000 is never changed: the execution fails, saying where.
        let nul = record(
            Ended::Returned(r#"{"s": "\u0000"}"#.into()),
            &limits_wide(),
            1000,
        );
        assert_eq!(nul.0, ExecutionStatus::Failed);
        assert_eq!(nul.1, None);
        assert_eq!(
            nul.3.as_deref(),
            Some(
                "workflow returned a result that cannot be stored: $.s holds U+0000, which no store keeps"
            )
        );

        let failed = record(
            Ended::Failed(format!("bad\0{}", "x".repeat(100))),
            &limits,
            1000,
        );
        assert_eq!(failed.0, ExecutionStatus::Failed);
        let message = failed.3.unwrap();
        assert!(message.starts_with("bad\u{FFFD}"), "{message}");
        assert!(
            message.ends_with(" bytes]"),
            "cut with the marker: {message}"
        );

        let timed_out = record(Ended::TimedOut, &limits, 1500);
        assert_eq!(timed_out.0, ExecutionStatus::Timeout);
        assert_eq!(
            timed_out.3.as_deref(),
            Some("execution exceeded its deadline of 1500 ms")
        );
    }
}
