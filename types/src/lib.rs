//! The value types that workflows (the `bifrost` guest crate) and the host (`bifrost-host`)
//! share, so that a status name, a log level or a stream id means the same on both sides:
//! [`ExecutionStatus`], [`LogLevel`] and [`StreamId`], with their display names and their
//! parsing rules.
//!
//! ```
//! use bifrost_types::{ExecutionStatus, StreamId};
//!
//! assert_eq!("Completed".parse::<ExecutionStatus>(), Ok(ExecutionStatus::Success));
//! let id: StreamId = "1714032000000-7".parse().unwrap();
//! assert_eq!(id.successor().unwrap().to_string(), "1714032000000-8");
//! ```
#![deny(missing_docs)]

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod time;

pub use time::{ParseTimestampError, Timestamp};

/// Most log entries one `get-current-logs` call returns, and most an execution's `get`
/// carries: the host lowers larger counts to it, and the guest crate's log reader pages by
/// it.
pub const MAX_LOG_COUNT: u32 = 1000;

/// The lifecycle state of an execution.
///
/// [`Display`](fmt::Display) and serde use the platform's names (`Scheduled`, ...,
/// `CompletedWithErrors`, ...), as stored in the database and as the reference SDK spells
/// them.
///
/// [`FromStr`] accepts those names case-insensitively, also with `_`, `-` or spaces between
/// words (`completed_with_errors`), and `"Completed"` as another name of
/// [`Success`](Self::Success): the reference SDK's documentation filters with
/// `status="Completed"`, but the platform has no such status. Anything else is a
/// [`ParseStatusError`] that lists the valid names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionStatus {
    /// Waiting for its scheduled time.
    Scheduled,
    /// Recorded, not started yet.
    Pending,
    /// Running now.
    Running,
    /// Finished with a result.
    Success,
    /// Finished with an error.
    Failed,
    /// Stopped at its deadline.
    Timeout,
    /// Left running by a runner that went away.
    Stuck,
    /// Finished with a result and some errors.
    CompletedWithErrors,
    /// Being cancelled.
    Cancelling,
    /// Cancelled.
    Cancelled,
}

impl ExecutionStatus {
    /// Every status, in declaration order.
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

    /// The platform's name, e.g. `CompletedWithErrors`.
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

    /// Whether a runner holds the execution: `Running`, or `Cancelling` until its runner
    /// stops it. A live execution has a lease; one whose lease ran out is `Stuck`.
    pub const fn is_live(self) -> bool {
        matches!(self, Self::Running | Self::Cancelling)
    }

    /// Whether the execution has ended.
    pub const fn is_final(self) -> bool {
        !matches!(
            self,
            Self::Scheduled | Self::Pending | Self::Running | Self::Cancelling
        )
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
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | ' ' | '\t'))
            .flat_map(char::to_lowercase)
            .collect();
        if key == "completed" {
            return Ok(Self::Success);
        }
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(&key))
            .ok_or_else(|| ParseStatusError {
                input: s.to_owned(),
            })
    }
}

/// A text that names no [`ExecutionStatus`]; its message lists the valid names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStatusError {
    input: String,
}

impl ParseStatusError {
    /// The text that was given.
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
        f.write_str(" (or Completed, another name of Success)")
    }
}

impl std::error::Error for ParseStatusError {}

/// Severity of a log line; displayed, stored and streamed in upper case (`WARNING`), as
/// the reference platform does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `WARNING`
    Warning,
    /// `ERROR`
    Error,
    /// `CRITICAL`
    Critical,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 5] = [
        Self::Debug,
        Self::Info,
        Self::Warning,
        Self::Error,
        Self::Critical,
    ];

    /// The upper-case name, e.g. `WARNING`.
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

    /// The names case-insensitively; `WARN` too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(Self::Debug),
            "INFO" => Ok(Self::Info),
            "WARNING" | "WARN" => Ok(Self::Warning),
            "ERROR" => Ok(Self::Error),
            "CRITICAL" => Ok(Self::Critical),
            _ => Err(ParseLogLevelError {
                input: s.to_owned(),
            }),
        }
    }
}

#[cfg(feature = "log")]
impl From<log::Level> for LogLevel {
    /// The `log` crate's levels; `Trace` is `DEBUG` (the platform has no lower level).
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
    /// The text that was given.
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

/// A log stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them.
///
/// [`FromStr`] takes `<ms>-<seq>` or `<ms>` (that millisecond's first entry), decimal
/// `u64`s with no sign or space; [`parse_start`](Self::parse_start) also takes `-` for the
/// beginning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// The smallest id: "from the beginning".
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };

    /// The id right after this one (the start that excludes this one); `None` after the
    /// largest id.
    pub fn successor(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// A start position of a log read: an id as [`FromStr`] takes it, `0` or `-` (the
    /// beginning), surrounding whitespace ignored.
    pub fn parse_start(s: &str) -> Result<StreamId, ParseStreamIdError> {
        match s.trim() {
            "-" => Ok(Self::MIN),
            t => t.parse().map_err(|_| ParseStreamIdError {
                input: s.to_owned(),
            }),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for StreamId {
    type Err = ParseStreamIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        fn number(part: &str) -> Option<u64> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        }
        let parsed = match s.split_once('-') {
            Some((ms, seq)) => number(ms).zip(number(seq)),
            None => number(s).map(|ms| (ms, 0)),
        };
        parsed
            .map(|(ms, seq)| StreamId { ms, seq })
            .ok_or_else(|| ParseStreamIdError {
                input: s.to_owned(),
            })
    }
}

/// Serialized as its text, `<milliseconds>-<sequence>`.
impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Deserialized from the text [`FromStr`] takes.
impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A text that is not a stream id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStreamIdError {
    input: String,
}

impl fmt::Display for ParseStreamIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a stream id (expected <milliseconds>-<sequence>, <milliseconds>, or 0 for the beginning)",
            self.input
        )
    }
}

impl std::error::Error for ParseStreamIdError {}

/// `From` conversions both ways between [`ExecutionStatus`] and [`LogLevel`] and the enums
/// bindgen generates for `bifrost:executions/types` (`execution-status`, `log-level`), for
/// any binding of the interface: the host's, the provider's, the guest crate's, and those of
/// later WIT versions. `$types` is the generated `types` module, in scope under that name.
///
/// The variants are listed once, here; a WIT enum that gains a variant fails to compile
/// until it is added.
#[macro_export]
macro_rules! wit_enum_conversions {
    ($types:ident) => {
        $crate::wit_enum_conversions!(@enum $types, ExecutionStatus,
            Scheduled, Pending, Running, Success, Failed, Timeout, Stuck, CompletedWithErrors,
            Cancelling, Cancelled);
        $crate::wit_enum_conversions!(@enum $types, LogLevel,
            Debug, Info, Warning, Error, Critical);
    };
    (@enum $types:ident, $name:ident, $($variant:ident),+) => {
        impl ::core::convert::From<$types::$name> for $crate::$name {
            fn from(value: $types::$name) -> Self {
                match value {
                    $($types::$name::$variant => Self::$variant,)+
                }
            }
        }

        impl ::core::convert::From<$crate::$name> for $types::$name {
            fn from(value: $crate::$name) -> Self {
                match value {
                    $($crate::$name::$variant => Self::$variant,)+
                }
            }
        }
    };
}

/// `From` conversions both ways between [`StreamId`] and [`Timestamp`] and the records of
/// `bifrost:executions/types@0.2.0` and later (`stream-id`, `datetime`), for any binding of
/// the interface. `$types` is the generated `types` module, in scope under that name.
///
/// A `datetime` whose nanoseconds are not below 1,000,000,000 (which the host never sends)
/// carries the excess into the seconds.
#[macro_export]
macro_rules! wit_record_conversions {
    ($types:ident) => {
        impl ::core::convert::From<$types::StreamId> for $crate::StreamId {
            fn from(id: $types::StreamId) -> Self {
                Self {
                    ms: id.milliseconds,
                    seq: id.sequence,
                }
            }
        }

        impl ::core::convert::From<$crate::StreamId> for $types::StreamId {
            fn from(id: $crate::StreamId) -> Self {
                Self {
                    milliseconds: id.ms,
                    sequence: id.seq,
                }
            }
        }

        impl ::core::convert::From<$types::Datetime> for $crate::Timestamp {
            fn from(t: $types::Datetime) -> Self {
                let carry = i64::from(t.nanoseconds / 1_000_000_000);
                $crate::Timestamp::new(
                    t.seconds.saturating_add(carry),
                    t.nanoseconds % 1_000_000_000,
                )
                .unwrap_or_default()
            }
        }

        impl ::core::convert::From<$crate::Timestamp> for $types::Datetime {
            fn from(t: $crate::Timestamp) -> Self {
                Self {
                    seconds: t.seconds(),
                    nanoseconds: t.nanoseconds(),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip_in_every_form() {
        for status in ExecutionStatus::ALL {
            let name = status.as_str();
            for text in [name.to_owned(), name.to_uppercase(), name.to_lowercase()] {
                assert_eq!(text.parse(), Ok(status), "{text}");
            }
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(name)
            );
        }
        for text in [
            "completed_with_errors",
            "completed-with-errors",
            " CompletedWithErrors ",
        ] {
            assert_eq!(
                text.parse(),
                Ok(ExecutionStatus::CompletedWithErrors),
                "{text}"
            );
        }
        assert_eq!("Completed".parse(), Ok(ExecutionStatus::Success));
    }

    #[test]
    fn unknown_status_lists_the_valid_names() {
        for text in ["", "Done", "fail", "Success!"] {
            let err = text.parse::<ExecutionStatus>().unwrap_err();
            assert_eq!(err.input(), text);
            let message = err.to_string();
            for status in ExecutionStatus::ALL {
                assert!(message.contains(status.as_str()), "{message}");
            }
        }
    }

    #[test]
    fn final_statuses() {
        assert!(ExecutionStatus::Success.is_final() && ExecutionStatus::Stuck.is_final());
        assert!(!ExecutionStatus::Running.is_final() && !ExecutionStatus::Cancelling.is_final());
    }

    #[test]
    fn log_levels() {
        for level in LogLevel::ALL {
            assert_eq!(level.as_str().parse(), Ok(level));
            assert_eq!(level.as_str().to_lowercase().parse(), Ok(level));
            assert_eq!(
                serde_json::to_value(level).unwrap(),
                serde_json::json!(level.as_str())
            );
        }
        assert_eq!("warn".parse(), Ok(LogLevel::Warning));
        assert!("TRACE".parse::<LogLevel>().is_err());
    }

    #[test]
    fn stream_ids_serialize_as_text() {
        let id = StreamId {
            ms: 1714032000000,
            seq: 7,
        };
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"1714032000000-7\"");
        assert_eq!(serde_json::from_str::<StreamId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<StreamId>("\"7-x\"").is_err());
    }

    #[test]
    fn stream_ids_parse_order_and_succeed() {
        assert_eq!("17-3".parse(), Ok(StreamId { ms: 17, seq: 3 }));
        assert_eq!("17".parse(), Ok(StreamId { ms: 17, seq: 0 }));
        assert_eq!(StreamId::parse_start("0"), Ok(StreamId::MIN));
        assert_eq!(StreamId::parse_start(" - "), Ok(StreamId::MIN));
        let max = format!("{}-{}", u64::MAX, u64::MAX);
        assert_eq!(
            max.parse(),
            Ok(StreamId {
                ms: u64::MAX,
                seq: u64::MAX
            })
        );
        for bad in [
            "",
            " ",
            "-1",
            "1-",
            "1--2",
            "1-2-3",
            "x-1",
            "+5",
            "1-+2",
            "18446744073709551616-0",
        ] {
            assert!(StreamId::parse_start(bad).is_err(), "{bad:?}");
        }
        assert!(StreamId { ms: 1, seq: 9 } < StreamId { ms: 2, seq: 0 });
        assert_eq!(StreamId { ms: 1, seq: 9 }.to_string(), "1-9");
        assert_eq!(
            StreamId {
                ms: 1,
                seq: u64::MAX
            }
            .successor(),
            Some(StreamId { ms: 2, seq: 0 })
        );
        assert_eq!(
            StreamId {
                ms: u64::MAX,
                seq: u64::MAX
            }
            .successor(),
            None
        );
    }
}
