//! The error type of every fallible call.

use std::fmt;

use crate::executions::WorkflowExecution;
use crate::types::{ParseLogLevelError, ParseStatusError};
use crate::wit::types as wit;

/// Why a call failed.
///
/// The first eight variants are the host's answers (the WIT `error` variant); the others
/// arise in the guest. [`NotFound`](Self::NotFound) and
/// [`PermissionDenied`](Self::PermissionDenied) are distinct, like the reference SDK's
/// `ValueError` and `PermissionError`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No execution has this id.
    NotFound {
        /// The execution id that was asked for (may be empty if the host did not say).
        id: String,
    },
    /// The execution exists but the caller may not see it.
    PermissionDenied {
        /// The execution id that was asked for.
        id: String,
    },
    /// A parameter is malformed or out of range.
    InvalidArgument {
        /// The parameter's name as the reference SDK spells it, e.g. `start_date`.
        parameter: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The call needs the current execution and the workflow runs outside one: pass an
    /// execution id explicitly.
    NoExecutionContext,
    /// A backend (database, log stream) could not be reached; retrying later may succeed.
    Unavailable(String),
    /// A value exceeds a size limit set by the host.
    TooLarge(String),
    /// A limit on workflows that start workflows was reached: the depth of the chain of
    /// parents, or the children of one execution.
    LimitReached(String),
    /// The host (or the host's answer) failed in a way that is not the caller's fault.
    Internal(String),
    /// A text given as an execution status names none.
    InvalidStatus(ParseStatusError),
    /// A text given as a log level names none.
    InvalidLogLevel(ParseLogLevelError),
    /// A value could not be converted to or from JSON.
    Json(serde_json::Error),
    /// [`workflows::execute`](crate::workflows::execute) or
    /// [`workflows::start`](crate::workflows::start) named a workflow that is not deployed.
    WorkflowNotFound {
        /// The workflow name that was asked for.
        name: String,
    },
    /// A child execution ended other than [`Success`](crate::ExecutionStatus::Success) (or
    /// had not ended): its whole record, with its id, status and error message.
    ChildFailed(Box<WorkflowExecution>),
}

impl Error {
    /// Whether retrying the same call later may succeed (the backend was unavailable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { id } if id.is_empty() => f.write_str("execution not found"),
            Self::NotFound { id } => write!(f, "execution {id} not found"),
            Self::PermissionDenied { id } if id.is_empty() => {
                f.write_str("permission denied: the execution belongs to someone else")
            }
            Self::PermissionDenied { id } => {
                write!(
                    f,
                    "permission denied: execution {id} belongs to someone else"
                )
            }
            Self::InvalidArgument { parameter, reason } => {
                write!(f, "invalid argument `{parameter}`: {reason}")
            }
            Self::NoExecutionContext => f.write_str(
                "no execution context: the call needs the current execution, \
                 and the workflow runs outside one (pass an execution id)",
            ),
            Self::Unavailable(detail) => write!(f, "backend unavailable: {detail}"),
            Self::TooLarge(detail) => write!(f, "too large: {detail}"),
            Self::LimitReached(detail) => write!(f, "limit reached: {detail}"),
            Self::Internal(detail) => write!(f, "internal error: {detail}"),
            Self::InvalidStatus(e) => e.fmt(f),
            Self::InvalidLogLevel(e) => e.fmt(f),
            Self::Json(e) => write!(f, "JSON conversion failed: {e}"),
            Self::WorkflowNotFound { name } => write!(f, "workflow {name:?} is not deployed"),
            Self::ChildFailed(child) => {
                let id = &child.execution_id;
                let name = &child.workflow_name;
                let status = child.status;
                match &child.error_message {
                    _ if !status.is_final() => {
                        write!(f, "child execution {id} ({name}) has not ended: {status}")
                    }
                    Some(message) => {
                        write!(f, "child execution {id} ({name}) ended {status}: {message}")
                    }
                    None => write!(f, "child execution {id} ({name}) ended {status}"),
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidStatus(e) => Some(e),
            Self::InvalidLogLevel(e) => Some(e),
            Self::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseStatusError> for Error {
    fn from(e: ParseStatusError) -> Self {
        Self::InvalidStatus(e)
    }
}

impl From<ParseLogLevelError> for Error {
    fn from(e: ParseLogLevelError) -> Self {
        Self::InvalidLogLevel(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e)
    }
}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Self {
        match e {
            wit::Error::NotFound(id) => Self::NotFound { id },
            wit::Error::PermissionDenied(id) => Self::PermissionDenied { id },
            wit::Error::InvalidArgument(wit::InvalidArgument { parameter, reason }) => {
                Self::InvalidArgument { parameter, reason }
            }
            wit::Error::NoExecutionContext => Self::NoExecutionContext,
            wit::Error::Unavailable(detail) => Self::Unavailable(detail),
            wit::Error::TooLarge(detail) => Self::TooLarge(detail),
            wit::Error::LimitReached(detail) => Self::LimitReached(detail),
            wit::Error::Internal(detail) => Self::Internal(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_every_wit_error() {
        let cases = [
            (wit::Error::NotFound("e1".into()), "execution e1 not found"),
            (
                wit::Error::PermissionDenied("e2".into()),
                "permission denied: execution e2 belongs to someone else",
            ),
            (
                wit::Error::InvalidArgument(wit::InvalidArgument {
                    parameter: "start_date".into(),
                    reason: "not an ISO-8601 date".into(),
                }),
                "invalid argument `start_date`: not an ISO-8601 date",
            ),
            (
                wit::Error::Unavailable("redis".into()),
                "backend unavailable: redis",
            ),
            (
                wit::Error::TooLarge("metadata".into()),
                "too large: metadata",
            ),
            (
                wit::Error::LimitReached("depth 8".into()),
                "limit reached: depth 8",
            ),
            (wit::Error::Internal("oops".into()), "internal error: oops"),
        ];
        for (wit_error, message) in cases {
            assert_eq!(Error::from(wit_error).to_string(), message);
        }
        assert!(matches!(
            Error::from(wit::Error::NotFound("x".into())),
            Error::NotFound { id } if id == "x"
        ));
        assert!(matches!(
            Error::from(wit::Error::PermissionDenied("x".into())),
            Error::PermissionDenied { id } if id == "x"
        ));
        assert!(matches!(
            Error::from(wit::Error::NoExecutionContext),
            Error::NoExecutionContext
        ));
        assert!(Error::from(wit::Error::Unavailable(String::new())).is_retryable());
        assert!(!Error::from(wit::Error::Internal(String::new())).is_retryable());
    }

    #[test]
    fn empty_not_found_id_reads_well() {
        assert_eq!(
            Error::NotFound { id: String::new() }.to_string(),
            "execution not found"
        );
    }

    #[test]
    fn parse_errors_convert_with_source() {
        let e: Error = "nope".parse::<crate::ExecutionStatus>().unwrap_err().into();
        assert!(matches!(e, Error::InvalidStatus(_)));
        assert!(std::error::Error::source(&e).is_some());
    }
}
