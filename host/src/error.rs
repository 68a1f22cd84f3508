//! Errors, in three levels: each backend's own error, the [`ApiError`] a caller (guest or
//! CLI) sees, and `wasmtime::Error` only for host bugs and traps.

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

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e.to_string()),
            sqlx::Error::Migrate(m) => Self::Migration(m.to_string()),
            // The server is shutting down, restarting, or dropped the connection
            // (SQLSTATE classes 57P and 08): the next attempt may well succeed.
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
            {
                Self::Unavailable(e.to_string())
            }
            sqlx::Error::Protocol(_) => Self::Unavailable(e.to_string()),
            other => Self::Database(other.to_string()),
        }
    }
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

impl From<redis::RedisError> for LogStreamError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
        {
            Self::Unavailable(e.to_string())
        } else {
            Self::Malformed(e.to_string())
        }
    }
}

impl From<LogStreamError> for ApiError {
    fn from(e: LogStreamError) -> Self {
        match e {
            LogStreamError::Unavailable(m) => ApiError::Unavailable(m),
            LogStreamError::Malformed(m) => ApiError::Internal(m),
        }
    }
}
