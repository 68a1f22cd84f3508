//! The value types shared with the host (from `bifrost-types`), and their conversions to and
//! from the generated WIT types.

use crate::wit::types as wit;

pub use bifrost_types::{
    ExecutionStatus, LogLevel, ParseLogLevelError, ParseStatusError, ParseStreamIdError, StreamId,
};

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
    fn status_converts_both_ways_with_wit() {
        for status in ExecutionStatus::ALL {
            let wit_status: wit::ExecutionStatus = status.into();
            assert_eq!(ExecutionStatus::from(wit_status), status);
        }
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
