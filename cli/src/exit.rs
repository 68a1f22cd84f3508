//! Exit codes, and which failures are the caller's and which the infrastructure's.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the workflow's execution ended with a status other than `Success` (`run`, `offline`) |
//! | 2 | the caller's mistake: bad flags or arguments, an invalid filter or id, an execution that does not exist or that the caller may not see, an input too large, a file that is no workflow component, a backend URL of the wrong form |
//! | 3 | the infrastructure failed: a database or log stream that cannot be reached or fails, an I/O error writing output, an internal error; trying again later may succeed |
//!
//! Every failure is one line on stderr.

use std::process::ExitCode;

use bifrost_core::model::ExecutionStatus;

use bifrost_core::ApiError;
use bifrost_runner::RunError;
use bifrost_runner::backends::{BackendError, BackendErrorKind};

/// The caller's mistake: exit code 2.
pub const CALLER: u8 = 2;
/// The infrastructure failed: exit code 3.
pub const INFRASTRUCTURE: u8 = 3;

/// A command that did not do its work, and whose fault that was.
#[derive(Debug)]
pub struct Failure {
    /// [`CALLER`] or [`INFRASTRUCTURE`].
    pub code: u8,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl Failure {
    /// The caller's mistake.
    pub fn caller(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: CALLER,
            error: error.into(),
        }
    }

    /// A failure of the infrastructure.
    pub fn infrastructure(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: INFRASTRUCTURE,
            error: error.into(),
        }
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

/// Whose fault an [`ApiError`] is, as its documentation says of each variant.
pub fn api_code(e: &ApiError) -> u8 {
    match e {
        ApiError::NotFound(_)
        | ApiError::PermissionDenied(_)
        | ApiError::InvalidArgument { .. }
        | ApiError::NoExecutionContext
        | ApiError::TooLarge(_)
        | ApiError::LimitReached(_) => CALLER,
        ApiError::Unavailable(_) | ApiError::Internal(_) => INFRASTRUCTURE,
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self {
            code: api_code(&e),
            error: e.into(),
        }
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Self {
        let code = match &e {
            RunError::Backend(api) => api_code(api),
            RunError::Load(_)
            | RunError::InvalidArgument { .. }
            | RunError::InputTooLarge { .. } => CALLER,
        };
        Self {
            code,
            error: e.into(),
        }
    }
}

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Self {
        let code = match e.kind {
            BackendErrorKind::Malformed => CALLER,
            BackendErrorKind::Unreachable => INFRASTRUCTURE,
        };
        Self {
            code,
            error: e.into(),
        }
    }
}

/// The exit code of a command that waited for an execution: 0 on `Success`, 1 else.
pub fn exit_code(status: ExecutionStatus) -> ExitCode {
    if status == ExecutionStatus::Success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The exit code of a command ended by Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED: u8 = 130;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_are_the_callers_unless_a_backend_or_the_host_failed() {
        let caller = [
            ApiError::NotFound("x".into()),
            ApiError::PermissionDenied("x".into()),
            ApiError::invalid("limit", "must be at least 1"),
            ApiError::NoExecutionContext,
            ApiError::TooLarge("x".into()),
        ];
        for e in caller {
            assert_eq!(api_code(&e), CALLER, "{e}");
        }
        for e in [
            ApiError::Unavailable("x".into()),
            ApiError::Internal("x".into()),
        ] {
            assert_eq!(api_code(&e), INFRASTRUCTURE, "{e}");
        }
    }
}
