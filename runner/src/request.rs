//! What starts a run, the checks it passes before anything is recorded, and why a run
//! could not be carried out.

use bifrost_core::ApiError;
use bifrost_core::Identity;
use bifrost_core::query::validate_workflow_name;
use bifrost_core::storable::{storable_text, unstorable_json};
use uuid::Uuid;

/// What starts an execution: who, with which input, under which name.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The workflow's name, as recorded and as the guest sees it.
    pub workflow_name: String,
    /// Input parameters (a JSON value; the guest receives its text).
    pub input: serde_json::Value,
    /// Who runs it: the execution's owner and the instance's identity.
    pub identity: Identity,
    /// Triggering form.
    pub form_id: Option<Uuid>,
    /// The execution that starts this one from a workflow; none for one started from
    /// outside.
    pub parent_execution_id: Option<Uuid>,
    /// CLI session.
    pub session_id: Option<String>,
}

/// Makes a request storable and checks it: U+0000 becomes U+FFFD in the workflow name,
/// the user name and the session id ([`storable_text`]); the name must be valid, the input
/// storable exactly as it is (no U+0000 in its strings and keys, no number out of range:
/// [`unstorable_json`], refused as an invalid `input` naming where) and its text within
/// [`Limits::max_input_bytes`]. Returns the input's JSON text.
///
/// [`Limits::max_input_bytes`]: bifrost_core::limits::Limits::max_input_bytes
pub fn prepare(
    request: &mut RunRequest,
    limits: &bifrost_core::limits::Limits,
) -> Result<String, RunError> {
    request.workflow_name = storable_text(std::mem::take(&mut request.workflow_name));
    request.identity.user_name = storable_text(std::mem::take(&mut request.identity.user_name));
    request.session_id = request.session_id.take().map(storable_text);
    validate_workflow_name(&request.workflow_name).map_err(|e| RunError::InvalidArgument {
        parameter: e.parameter,
        reason: e.reason,
    })?;
    if let Some(reason) = unstorable_json(&request.input) {
        return Err(RunError::InvalidArgument {
            parameter: "input",
            reason,
        });
    }
    let input = request.input.to_string();
    if input.len() > limits.max_input_bytes {
        return Err(RunError::InputTooLarge {
            size: input.len(),
            max: limits.max_input_bytes,
        });
    }
    Ok(input)
}

/// Why a run could not be carried out (as opposed to a run that ended `Failed`, which is a
/// result).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store or the log stream failed; the execution may be incomplete.
    #[error("{0}")]
    Backend(#[from] ApiError),
    /// The component could not be loaded or linked.
    #[error("cannot load workflow: {0:#}")]
    Load(wasmtime::Error),
    /// A part of the request is malformed or out of range (an empty or too long workflow
    /// name, a number no store can keep in the input); nothing was recorded.
    #[error("invalid argument {parameter}: {reason}")]
    InvalidArgument {
        /// Which part: `workflow_name` or `input`.
        parameter: &'static str,
        /// Why.
        reason: String,
    },
    /// The input exceeds [`Limits::max_input_bytes`]; nothing was recorded.
    #[error("input of {size} bytes exceeds the limit of {max} bytes")]
    InputTooLarge {
        /// Size of the input's JSON text.
        size: usize,
        /// The limit.
        max: usize,
    },
}

impl From<bifrost_core::error::StoreError> for RunError {
    fn from(e: bifrost_core::error::StoreError) -> Self {
        Self::Backend(e.into())
    }
}
