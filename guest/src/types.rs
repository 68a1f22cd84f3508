//! The value types shared with the host (from `bifrost-types`), and their conversions to and
//! from the generated WIT types (by `bifrost_types::wit_enum_conversions!` and
//! `wit_record_conversions!`).

use crate::wit::types as wit;

pub use bifrost_types::{
    ExecutionStatus, LogLevel, ParseLogLevelError, ParseStatusError, ParseStreamIdError,
    ParseTimestampError, StreamId, Timestamp,
};

// `From` both ways between the shared enums and the generated ones: the variant lists live
// once, in `bifrost-types`.
bifrost_types::wit_enum_conversions!(wit);
bifrost_types::wit_record_conversions!(wit);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_converts_both_ways_with_wit() {
        for status in ExecutionStatus::ALL {
            let wit_status: wit::ExecutionStatus = status.into();
            assert_eq!(ExecutionStatus::from(wit_status), status);
        }
        assert!(matches!(
            wit::ExecutionStatus::from(ExecutionStatus::CompletedWithErrors),
            wit::ExecutionStatus::CompletedWithErrors
        ));
    }

    #[test]
    fn level_converts_both_ways_with_wit() {
        for level in LogLevel::ALL {
            let wit_level: wit::LogLevel = level.into();
            assert_eq!(LogLevel::from(wit_level), level);
        }
        assert!(matches!(
            wit::LogLevel::from(LogLevel::Warning),
            wit::LogLevel::Warning
        ));
    }

    #[test]
    fn log_crate_levels_map_to_platform_levels() {
        assert_eq!(LogLevel::from(log::Level::Error), LogLevel::Error);
        assert_eq!(LogLevel::from(log::Level::Warn), LogLevel::Warning);
        assert_eq!(LogLevel::from(log::Level::Info), LogLevel::Info);
        assert_eq!(LogLevel::from(log::Level::Debug), LogLevel::Debug);
        assert_eq!(LogLevel::from(log::Level::Trace), LogLevel::Debug);
    }
}
