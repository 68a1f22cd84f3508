//! Errors, in three levels: each backend's own error ([`StoreError`], [`LogStreamError`]),
//! the [`ApiError`] a caller (guest or CLI) sees, and, in the host, `wasmtime::Error` only
//! for host bugs and traps. Each mapping says whose fault an error is.

use thiserror::Error;

/// An error of a call to the executions module, as the caller sees it. Maps one to one onto
/// the WIT `error` variant.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ApiError {
    /// No execution has this id. (The caller's fault, or a race with deletion.)
    #[error("execution {0} not found")]
    NotFound(String),
    /// The execution exists but the caller may not see it. (The caller's fault.)
    #[error("permission denied: execution {0} is not visible to this user")]
    PermissionDenied(String),
    /// A parameter is malformed or out of range. (The caller's fault.)
    #[error("invalid argument {parameter}: {reason}")]
    InvalidArgument {
        /// Parameter name, spelled as in the reference SDK.
        parameter: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The call needs an execution and the instance runs outside one. (The caller's fault.)
    #[error("no execution context: pass an execution id, or call from inside an execution")]
    NoExecutionContext,
    /// A backend could not be reached. (Nobody's fault; retry later.)
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// A value exceeds a host limit. (The caller's fault.)
    #[error("too large: {0}")]
    TooLarge(String),
    /// A limit on workflows that start workflows was reached: the depth of the chain of
    /// parents, or the children of one execution. (The caller's fault.)
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// The host failed. (The host's fault.)
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// An invalid-argument error.
    pub fn invalid(parameter: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            parameter,
            reason: reason.into(),
        }
    }
}

impl From<crate::InvalidArgument> for ApiError {
    fn from(e: crate::InvalidArgument) -> Self {
        Self::InvalidArgument {
            parameter: e.parameter,
            reason: e.reason,
        }
    }
}

impl From<crate::values::Rejection> for ApiError {
    fn from(r: crate::values::Rejection) -> Self {
        match r {
            crate::values::Rejection::Invalid(e) => e.into(),
            crate::values::Rejection::TooLarge(m) => Self::TooLarge(m),
        }
    }
}

/// An error of an [`ExecutionStore`](crate::store::ExecutionStore).
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(String),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // Callers map NotFound themselves where they know the id; this is the fallback.
            StoreError::NotFound => ApiError::NotFound(String::new()),
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Database(m) | StoreError::Migration(m) => ApiError::Internal(m),
        }
    }
}

/// An error of a [`LogStream`](crate::logs::LogStream).
#[derive(Debug, Error)]
pub enum LogStreamError {
    /// The stream server cannot be reached.
    #[error("log stream unavailable: {0}")]
    Unavailable(String),
    /// The server answered with something this host cannot read.
    #[error("log stream entry malformed: {0}")]
    Malformed(String),
}

impl From<LogStreamError> for ApiError {
    fn from(e: LogStreamError) -> Self {
        match e {
            LogStreamError::Unavailable(m) => ApiError::Unavailable(m),
            LogStreamError::Malformed(m) => ApiError::Internal(m),
        }
    }
}
