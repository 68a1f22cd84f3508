//! Plain Rust types shared by the modules: execution status, log level, and their parsing.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::wit::types as wit;

/// The lifecycle state of an execution.
///
/// [`Display`](fmt::Display) and serde use the platform's canonical names (`Scheduled`, …,
/// `CompletedWithErrors`, …), the same as the `status` values of the reference Python SDK.
///
/// [`FromStr`] accepts the canonical names case-insensitively, also with `_` or `-` between
/// words (`completed_with_errors`, `completed-with-errors`). It also accepts `"Completed"` as
/// an alias of [`Success`](Self::Success): the reference SDK's documentation filters with
/// `status="Completed"`, but the platform has no such status; a successful run is `Success`.
/// Anything else is a [`ParseStatusError`] that lists the valid names.
///
/// ```
/// use bifrost::ExecutionStatus;
///
/// assert_eq!("failed".parse::<ExecutionStatus>(), Ok(ExecutionStatus::Failed));
/// assert_eq!("Completed".parse::<ExecutionStatus>(), Ok(ExecutionStatus::Success));
/// assert_eq!(ExecutionStatus::CompletedWithErrors.to_string(), "CompletedWithErrors");
/// assert!("done".parse::<ExecutionStatus>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionStatus {
    /// Waiting for its scheduled time.
    Scheduled,
    /// Queued, not started yet.
    Pending,
    /// Running now.
    Running,
    /// Finished successfully.
    Success,
    /// Finished with an error.
    Failed,
    /// Stopped because it ran too long.
    Timeout,
    /// Stopped making progress.
    Stuck,
    /// Finished, but some steps failed.
    CompletedWithErrors,
    /// A cancellation was requested and is in progress.
    Cancelling,
    /// Cancelled.
    Cancelled,
}

impl ExecutionStatus {
    /// Every status, in the order of the WIT enum.
    pub const ALL: [ExecutionStatus; 10] = [
        Self::Scheduled,
        Self::Pending,
        Self::Running,
        Self::Success,
        Self::Failed,
        Self::Timeout,
        Self::Stuck,
        Self::CompletedWithErrors,
        Self::Cancelling,
        Self::Cancelled,
    ];

    /// The canonical name, e.g. `"CompletedWithErrors"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Success => "Success",
            Self::Failed => "Failed",
            Self::Timeout => "Timeout",
            Self::Stuck => "Stuck",
            Self::CompletedWithErrors => "CompletedWithErrors",
            Self::Cancelling => "Cancelling",
            Self::Cancelled => "Cancelled",
        }
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionStatus {
    type Err = ParseStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        let status = match key.as_str() {
            "scheduled" => Self::Scheduled,
            "pending" => Self::Pending,
            "running" => Self::Running,
            // "Completed" is what the reference SDK's docs filter on; the platform calls it Success.
            "success" | "completed" => Self::Success,
            "failed" => Self::Failed,
            "timeout" => Self::Timeout,
            "stuck" => Self::Stuck,
            "completedwitherrors" => Self::CompletedWithErrors,
            "cancelling" => Self::Cancelling,
            "cancelled" => Self::Cancelled,
            _ => {
                return Err(ParseStatusError {
                    input: s.to_owned(),
                });
            }
        };
        Ok(status)
    }
}

/// A text that names no [`ExecutionStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStatusError {
    input: String,
}

impl ParseStatusError {
    /// The rejected text.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown execution status {:?}; expected one of ",
            self.input
        )?;
        for (i, status) in ExecutionStatus::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(status.as_str())?;
        }
        f.write_str(" (or Completed, an alias of Success)")
    }
}

impl std::error::Error for ParseStatusError {}

impl From<wit::ExecutionStatus> for ExecutionStatus {
    fn from(status: wit::ExecutionStatus) -> Self {
        use wit::ExecutionStatus as W;
        match status {
            W::Scheduled => Self::Scheduled,
            W::Pending => Self::Pending,
            W::Running => Self::Running,
            W::Success => Self::Success,
            W::Failed => Self::Failed,
            W::Timeout => Self::Timeout,
            W::Stuck => Self::Stuck,
            W::CompletedWithErrors => Self::CompletedWithErrors,
            W::Cancelling => Self::Cancelling,
            W::Cancelled => Self::Cancelled,
        }
    }
}

impl From<ExecutionStatus> for wit::ExecutionStatus {
    fn from(status: ExecutionStatus) -> Self {
        use ExecutionStatus as S;
        match status {
            S::Scheduled => Self::Scheduled,
            S::Pending => Self::Pending,
            S::Running => Self::Running,
            S::Success => Self::Success,
            S::Failed => Self::Failed,
            S::Timeout => Self::Timeout,
            S::Stuck => Self::Stuck,
            S::CompletedWithErrors => Self::CompletedWithErrors,
            S::Cancelling => Self::Cancelling,
            S::Cancelled => Self::Cancelled,
        }
    }
}

/// Severity of a log line, from least to most severe.
///
/// [`Display`](fmt::Display) and serde use upper case (`DEBUG`, `INFO`, `WARNING`, `ERROR`,
/// `CRITICAL`), as the `level` of the reference SDK's log entries. [`FromStr`] accepts those
/// names case-insensitively, and `WARN` for [`Warning`](Self::Warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Detail for debugging.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected that the workflow handled.
    Warning,
    /// Something failed.
    Error,
    /// Something failed badly enough that the workflow cannot go on.
    Critical,
}

impl LogLevel {
    /// Every level, from least to most severe.
    pub const ALL: [LogLevel; 5] = [
        Self::Debug,
        Self::Info,
        Self::Warning,
        Self::Error,
        Self::Critical,
    ];

    /// The upper-case name, e.g. `"WARNING"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogLevel {
    type Err = ParseLogLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let level = match s.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Self::Debug,
            "INFO" => Self::Info,
            "WARNING" | "WARN" => Self::Warning,
            "ERROR" => Self::Error,
            "CRITICAL" => Self::Critical,
            _ => {
                return Err(ParseLogLevelError {
                    input: s.to_owned(),
                });
            }
        };
        Ok(level)
    }
}

/// `log::Level::Error` is `ERROR`, `Warn` is `WARNING`, `Info` is `INFO`, and `Debug` and
/// `Trace` are both `DEBUG`.
impl From<log::Level> for LogLevel {
    fn from(level: log::Level) -> Self {
        match level {
            log::Level::Error => Self::Error,
            log::Level::Warn => Self::Warning,
            log::Level::Info => Self::Info,
            log::Level::Debug | log::Level::Trace => Self::Debug,
        }
    }
}

/// A text that names no [`LogLevel`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLogLevelError {
    input: String,
}

impl ParseLogLevelError {
    /// The rejected text.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseLogLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown log level {:?}; expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
            self.input
        )
    }
}

impl std::error::Error for ParseLogLevelError {}

impl From<wit::LogLevel> for LogLevel {
    fn from(level: wit::LogLevel) -> Self {
        match level {
            wit::LogLevel::Debug => Self::Debug,
            wit::LogLevel::Info => Self::Info,
            wit::LogLevel::Warning => Self::Warning,
            wit::LogLevel::Error => Self::Error,
            wit::LogLevel::Critical => Self::Critical,
        }
    }
}

impl From<LogLevel> for wit::LogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Debug => Self::Debug,
            LogLevel::Info => Self::Info,
            LogLevel::Warning => Self::Warning,
            LogLevel::Error => Self::Error,
            LogLevel::Critical => Self::Critical,
        }
    }
}

/// Parses JSON text that came from the host. Text that is not valid JSON becomes a JSON string
/// holding the raw text, so that a malformed payload never makes a query fail.
pub(crate) fn json_or_string(text: String) -> serde_json::Value {
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(_) => serde_json::Value::String(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_display_is_canonical_and_round_trips() {
        let names = [
            "Scheduled",
            "Pending",
            "Running",
            "Success",
            "Failed",
            "Timeout",
            "Stuck",
            "CompletedWithErrors",
            "Cancelling",
            "Cancelled",
        ];
        for (status, name) in ExecutionStatus::ALL.into_iter().zip(names) {
            assert_eq!(status.to_string(), name);
            assert_eq!(name.parse::<ExecutionStatus>(), Ok(status));
            assert_eq!(name.to_uppercase().parse::<ExecutionStatus>(), Ok(status));
            assert_eq!(name.to_lowercase().parse::<ExecutionStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::String(name.into())
            );
        }
    }

    #[test]
    fn status_accepts_separated_forms_and_completed_alias() {
        for text in [
            "completed_with_errors",
            "completed-with-errors",
            "COMPLETED_WITH_ERRORS",
            " CompletedWithErrors ",
        ] {
            assert_eq!(
                text.parse(),
                Ok(ExecutionStatus::CompletedWithErrors),
                "{text}"
            );
        }
        assert_eq!("Completed".parse(), Ok(ExecutionStatus::Success));
        assert_eq!("completed".parse(), Ok(ExecutionStatus::Success));
    }

    #[test]
    fn unknown_status_lists_valid_names() {
        for text in ["", "Done", "fail", "Cancel", "Success!"] {
            let err = text.parse::<ExecutionStatus>().unwrap_err();
            assert_eq!(err.input(), text);
            let message = err.to_string();
            for status in ExecutionStatus::ALL {
                assert!(message.contains(status.as_str()), "{message}");
            }
            assert!(message.contains("Completed"), "{message}");
        }
    }

    #[test]
    fn status_converts_both_ways_with_wit() {
        for status in ExecutionStatus::ALL {
            let wit_status: wit::ExecutionStatus = status.into();
            assert_eq!(ExecutionStatus::from(wit_status), status);
        }
    }

    #[test]
    fn log_level_names_and_parsing() {
        let names = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
        for (level, name) in LogLevel::ALL.into_iter().zip(names) {
            assert_eq!(level.to_string(), name);
            assert_eq!(name.parse(), Ok(level));
            assert_eq!(name.to_lowercase().parse(), Ok(level));
            assert_eq!(
                serde_json::to_value(level).unwrap(),
                serde_json::json!(name)
            );
            let wit_level: wit::LogLevel = level.into();
            assert_eq!(LogLevel::from(wit_level), level);
        }
        assert_eq!("warn".parse(), Ok(LogLevel::Warning));
        assert!("verbose".parse::<LogLevel>().is_err());
        assert!(LogLevel::Debug < LogLevel::Critical);
    }

    #[test]
    fn log_crate_levels_map_to_platform_levels() {
        assert_eq!(LogLevel::from(log::Level::Error), LogLevel::Error);
        assert_eq!(LogLevel::from(log::Level::Warn), LogLevel::Warning);
        assert_eq!(LogLevel::from(log::Level::Info), LogLevel::Info);
        assert_eq!(LogLevel::from(log::Level::Debug), LogLevel::Debug);
        assert_eq!(LogLevel::from(log::Level::Trace), LogLevel::Debug);
    }

    #[test]
    fn host_json_falls_back_to_string() {
        assert_eq!(
            json_or_string(r#"{"a":1}"#.into()),
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            json_or_string("not json".into()),
            serde_json::json!("not json")
        );
    }
}
