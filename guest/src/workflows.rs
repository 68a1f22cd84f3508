//! Start deployed workflows from a workflow, and wait for them.
//!
//! This mirrors the reference Python SDK's `from bifrost import workflows`:
//!
//! | Python | Rust |
//! |---|---|
//! | `await workflows.execute("process_order", {"order_id": "1"})` | [`execute`]`("process_order", &json!({"order_id": "1"}))?.result_as()?` |
//! | `await workflows.list()` | [`list`]`()` |
//! | `await workflows.get(execution_id)` | [`crate::executions::get`]`(id)` |
//!
//! with [`start`] and [`wait`] for children that run side by side.
//!
//! Unlike the reference, where a sub-workflow is a function call inside its parent, every
//! child here is an execution of its own: its own id, its record (whose
//! [`parent_execution_id`](WorkflowExecution::parent_execution_id) is this execution), its
//! own logs and limits. It runs as this workflow's caller (same user, organisation and admin
//! flag; never more), so it sees what the parent sees; in particular it can read the parent's
//! log so far with
//! [`executions::get_current_logs()`](crate::executions::get_current_logs)`.execution_id(parent)`,
//! where the parent's id is [`crate::context::parent_execution_id`].
//!
//! The host bounds the depth of the chain of parents and the children of one execution
//! ([`Error::LimitReached`]); a child's deadline is never later than its parent's, and a
//! parent that ends, however it ends, leaves no child running.
//!
//! ```no_run
//! use bifrost::workflows;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), bifrost::Error> {
//! // One child, waited for: its record, once it has succeeded.
//! let order = workflows::execute("process_order", &json!({"order_id": "12345"}))?;
//! let shipped: bool = order.result_as()?;
//!
//! // Several side by side.
//! let ids = ["a", "b", "c"]
//!     .iter()
//!     .map(|region| workflows::start("sync_region", &json!({"region": region})))
//!     .collect::<Result<Vec<_>, _>>()?;
//! for id in ids {
//!     let child = workflows::wait(&id, None)?.succeeded()?;
//!     log::info!("{} took {:?} ms", child.workflow_name, child.duration_ms);
//! }
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::Error;
pub use crate::executions::WorkflowExecution;
use crate::types::Timestamp;
use crate::wit;

/// A deployed workflow this workflow may start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowInfo {
    /// The name to start it by.
    pub name: String,
    /// The deployed version: the SHA-256 of its component, lowercase hex.
    pub version: String,
    /// When that version was deployed.
    pub deployed_at: Timestamp,
}

impl From<wit::types::WorkflowInfo> for WorkflowInfo {
    fn from(w: wit::types::WorkflowInfo) -> Self {
        Self {
            name: w.name,
            version: w.version,
            deployed_at: w.deployed_at.into(),
        }
    }
}

/// Runs the deployed workflow `workflow_name` on `input` as a child of this execution and
/// waits for it to end; returns its record when it succeeded (read its result with
/// [`WorkflowExecution::result_as`]).
///
/// Fails with [`Error::ChildFailed`] (holding the child's record: its id, status and error
/// message) when the child failed, timed out or was cancelled; [`Error::WorkflowNotFound`]
/// when no workflow of that name is deployed; [`Error::LimitReached`] past the depth or
/// children limit; [`Error::NoExecutionContext`] outside an execution; [`Error::Json`] when
/// `input` cannot be serialised.
pub fn execute<I: Serialize + ?Sized>(
    workflow_name: &str,
    input: &I,
) -> Result<WorkflowExecution, Error> {
    let input = serde_json::to_string(input)?;
    let child =
        wit::workflows::execute(workflow_name, &input).map_err(|e| named(e, workflow_name))?;
    WorkflowExecution::from(child).succeeded()
}

/// Starts the deployed workflow `workflow_name` on `input` as a child of this execution and
/// returns its execution id at once; [`wait`] for it. Errors as [`execute`]'s, but for
/// [`Error::ChildFailed`].
pub fn start<I: Serialize + ?Sized>(workflow_name: &str, input: &I) -> Result<String, Error> {
    let input = serde_json::to_string(input)?;
    wit::workflows::start(workflow_name, &input).map_err(|e| named(e, workflow_name))
}

/// Waits for a child this execution started, at most `timeout` (`None`: until it ends), and
/// returns its record whatever its status: still `Pending` or `Running` when the timeout
/// passed first. [`WorkflowExecution::succeeded`] turns a child that did not succeed into
/// [`Error::ChildFailed`].
///
/// Fails with [`Error::NotFound`] for an id that is no child of this execution. A timeout
/// beyond `u64::MAX` milliseconds counts as none.
pub fn wait(execution_id: &str, timeout: Option<Duration>) -> Result<WorkflowExecution, Error> {
    let timeout_ms = timeout.and_then(|t| u64::try_from(t.as_millis()).ok());
    Ok(wit::workflows::wait(execution_id, timeout_ms)?.into())
}

/// The deployed workflows, by name, with their current version.
pub fn list() -> Result<Vec<WorkflowInfo>, Error> {
    Ok(wit::workflows::list()?
        .into_iter()
        .map(WorkflowInfo::from)
        .collect())
}

/// The host's `not-found` names the workflow for `execute` and `start`: say so.
fn named(e: wit::types::Error, workflow_name: &str) -> Error {
    match e {
        wit::types::Error::NotFound(_) => Error::WorkflowNotFound {
            name: workflow_name.to_owned(),
        },
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExecutionStatus;

    fn child(status: ExecutionStatus, error: Option<&str>) -> WorkflowExecution {
        WorkflowExecution {
            execution_id: "c1".into(),
            workflow_name: "process_order".into(),
            org_id: None,
            form_id: None,
            executed_by: "u1".into(),
            executed_by_name: "Ada".into(),
            status,
            input_data: crate::Json::from_host("{}".into()),
            result: Some(crate::Json::from_host(r#"{"shipped":true}"#.into())),
            result_type: None,
            error_message: error.map(Into::into),
            duration_ms: None,
            started_at: None,
            completed_at: None,
            created_at: Timestamp::from(wit::types::Datetime {
                seconds: 0,
                nanoseconds: 0,
            }),
            logs: None,
            variables: None,
            session_id: None,
            peak_memory_bytes: None,
            cpu_total_seconds: None,
            log_lines_dropped: None,
            parent_execution_id: Some("p1".into()),
        }
    }

    #[test]
    fn a_child_that_did_not_succeed_is_an_error_naming_it() {
        let ok = child(ExecutionStatus::Success, None).succeeded().unwrap();
        assert_eq!(
            ok.result_as::<serde_json::Value>().unwrap(),
            serde_json::json!({"shipped": true})
        );
        let cases = [
            (
                child(ExecutionStatus::Failed, Some("no such order")),
                "child execution c1 (process_order) ended Failed: no such order",
            ),
            (
                child(ExecutionStatus::Cancelled, None),
                "child execution c1 (process_order) ended Cancelled",
            ),
            (
                child(ExecutionStatus::Running, None),
                "child execution c1 (process_order) has not ended: Running",
            ),
        ];
        for (record, message) in cases {
            let e = record.succeeded().unwrap_err();
            assert_eq!(e.to_string(), message);
            assert!(matches!(e, Error::ChildFailed(c) if c.execution_id == "c1"));
        }
    }

    #[test]
    fn not_found_names_the_workflow() {
        let e = named(wit::types::Error::NotFound("x".into()), "process_order");
        assert_eq!(e.to_string(), r#"workflow "process_order" is not deployed"#);
        let e = named(wit::types::Error::LimitReached("depth".into()), "w");
        assert!(matches!(e, Error::LimitReached(d) if d == "depth"));
    }

    #[test]
    fn a_missing_result_decodes_as_null() {
        let mut record = child(ExecutionStatus::Success, None);
        record.result = None;
        assert_eq!(record.result_as::<Option<u32>>().unwrap(), None);
        assert!(record.result_as::<u32>().is_err());
    }
}
