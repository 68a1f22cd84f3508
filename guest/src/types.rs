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
