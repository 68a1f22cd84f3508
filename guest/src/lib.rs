//! Write workflows for the Bifrost-style workflow platform as WebAssembly components
//! (`wasm32-wasip2`), in ordinary Rust.
//!
//! A workflow is a function from a JSON input to a JSON result. The platform runs it in a
//! sandbox and gives it a small set of capabilities, which this crate wraps in a typed API:
//!
//! - [`executions`]: query the execution history ([`executions::list`], [`executions::get`])
//!   and read the log lines of an execution, live or finished
//!   ([`executions::get_current_logs`], [`executions::log_reader`]). This mirrors the
//!   reference Python SDK's `from bifrost import executions`.
//! - [`logging`]: the [`log`] crate's macros write to the execution's log; structured
//!   key-values become the line's JSON metadata.
//! - [`context`]: the current execution's id, workflow name and parent, who the workflow runs
//!   as, and runtime variables.
//! - [`workflows`]: start deployed workflows and wait for them ([`workflows::execute`],
//!   [`workflows::start`], [`workflows::wait`], [`workflows::list`]); each child is an
//!   execution of its own, run as the same caller. This mirrors the reference SDK's
//!   `from bifrost import workflows`.
//!
//! What the workflow may see is decided by the host from the identity it bound to the instance:
//! nothing here takes a user id. A platform admin sees every execution of their organisation;
//! any other user sees only the executions they started.
//!
//! # Example
//!
//! ```
//! use bifrost::executions::{self, ExecutionStatus};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Input {
//!     workflow: String,
//! }
//!
//! #[derive(Serialize)]
//! struct Output {
//!     failures: usize,
//! }
//!
//! fn count_failures(input: Input) -> Result<Output, bifrost::Error> {
//!     let failed = executions::list()
//!         .workflow_name(&input.workflow)
//!         .status(ExecutionStatus::Failed)
//!         .start_date("2026-04-25")
//!         .limit(1000)
//!         .fetch_all()?;
//!     log::info!(workflow = input.workflow.as_str(), failures = failed.len(); "counted failures");
//!     Ok(Output { failures: failed.len() })
//! }
//!
//! // Exports `count_failures` as the component's entry point.
//! bifrost::workflow!(count_failures);
//! # fn main() {}
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2` in a `cdylib` crate; the result is a
//! component of the world `bifrost:executions/workflow@0.3.0`.
//!
//! The crate also compiles for native targets, so that the pure parts of a workflow can be unit
//! tested; calling the platform's imports natively panics.

#![deny(missing_docs)]

pub mod context;
mod error;
pub mod executions;
mod json;
pub mod logging;
mod types;
pub mod workflows;

pub use error::Error;
pub use json::Json;
pub use types::{
    ExecutionStatus, LogLevel, ParseLogLevelError, ParseStatusError, StreamId, Timestamp,
};

/// Implementation details used by [`workflow!`]: the generated WIT bindings and the glue that
/// runs a workflow function. Not part of the public API; may change in any release.
#[doc(hidden)]
#[allow(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::pedantic
)]
pub mod __internal {
    wit_bindgen::generate!({
        world: "workflow",
        path: "../wit",
        pub_export_macro: true,
    });

    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::fmt::Display;

    /// The body of the exported `run`: installs the logger, decodes the input, calls the
    /// workflow function and encodes its outcome.
    ///
    /// Blank input (no text at all) is read as JSON `null`, so that a workflow taking `()` or
    /// an `Option` can be run without input.
    pub fn run_workflow<I, O, E, F>(input: &str, workflow: F) -> Result<String, String>
    where
        I: DeserializeOwned,
        O: Serialize,
        E: Display,
        F: FnOnce(I) -> Result<O, E>,
    {
        crate::logging::init();
        let text = if input.trim().is_empty() {
            "null"
        } else {
            input
        };
        let input: I = serde_json::from_str(text).map_err(|e| {
            format!(
                "the workflow input does not match the expected type `{}`: {e}",
                std::any::type_name::<I>()
            )
        })?;
        match workflow(input) {
            Ok(output) => serde_json::to_string(&output)
                .map_err(|e| format!("the workflow result could not be serialised to JSON: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The generated WIT types, for conversions inside this crate.
pub(crate) use __internal::bifrost::executions as wit;

/// Exports a function as the workflow's entry point.
///
/// ```text
/// bifrost::workflow!(my_workflow);
/// ```
///
/// `my_workflow` (a path, or any expression such as a closure) must have the shape
/// `fn(I) -> Result<O, E>` where
///
/// - `I: serde::de::DeserializeOwned` is the input, decoded from the execution's JSON
///   parameters (blank input counts as `null`);
/// - `O: serde::Serialize` is the result, stored as JSON;
/// - `E: std::fmt::Display` is the failure, whose text becomes the execution's error message
///   (`bifrost::Error`, `Box<dyn std::error::Error>`, `String` and `anyhow::Error` all work).
///
/// A function of any other shape is a compile error:
///
/// ```compile_fail
/// fn not_a_result(input: String) -> String {
///     input
/// }
/// bifrost::workflow!(not_a_result);
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// struct NotDeserialize;
/// fn wrong_input(_: NotDeserialize) -> Result<(), String> {
///     Ok(())
/// }
/// bifrost::workflow!(wrong_input);
/// # fn main() {}
/// ```
///
/// Before the function runs, the
/// [`logging`] logger is installed (see [`logging::init`]). Input that does not decode into `I`
/// fails the execution with a message naming the expected type and the decoding error.
///
/// Invoke it once per component crate (a `cdylib` built for `wasm32-wasip2`), at module level.
#[macro_export]
macro_rules! workflow {
    ($workflow:expr $(,)?) => {
        #[allow(unsafe_code)]
        const _: () = {
            struct BifrostWorkflow;

            impl $crate::__internal::Guest for BifrostWorkflow {
                fn run(
                    input: ::std::string::String,
                ) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                    $crate::__internal::run_workflow(&input, $workflow)
                }
            }

    $crate::__internal::export!(BifrostWorkflow with_types_in $crate::__internal);
        };
    };
}

#[cfg(test)]
mod tests {
    use crate::__internal::run_workflow;
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize)]
    struct Input {
        n: u32,
    }

    #[derive(Serialize)]
    struct Output {
        doubled: u32,
    }

    fn double(input: Input) -> Result<Output, String> {
        match input.n {
            0 => Err("n must be positive".into()),
            n => Ok(Output { doubled: n * 2 }),
        }
    }

    #[test]
    fn runs_and_encodes_the_result() {
        assert_eq!(
            run_workflow(r#"{"n": 21}"#, double),
            Ok(r#"{"doubled":42}"#.into())
        );
    }

    #[test]
    fn workflow_errors_become_their_display_text() {
        assert_eq!(
            run_workflow(r#"{"n": 0}"#, double),
            Err("n must be positive".into())
        );
    }

    #[test]
    fn input_of_the_wrong_shape_names_the_type() {
        let err = run_workflow(r#"{"m": 1}"#, double).unwrap_err();
        assert!(err.contains("does not match the expected type"), "{err}");
        assert!(err.contains("Input"), "{err}");
        assert!(err.contains("missing field `n`"), "{err}");
    }

    #[test]
    fn blank_input_is_null() {
        let unit = |(): ()| Ok::<_, String>("done");
        assert_eq!(run_workflow("", unit), Ok(r#""done""#.into()));
        let optional = |input: Option<Input>| Ok::<_, String>(input.is_none());
        assert_eq!(run_workflow("  ", optional), Ok("true".into()));
    }
}
