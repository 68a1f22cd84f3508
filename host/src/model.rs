//! The host's own types for executions and log entries, independent of any backend and of
//! the generated WIT bindings.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The lifecycle state of an execution, with the names Bifrost stores.
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

    /// The stored name, e.g. `CompletedWithErrors`.
    pub fn as_str(self) -> &'static str {
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

    /// Whether the execution has ended.
    pub fn is_final(self) -> bool {
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

/// A status name that is not one of the ten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status {0:?}; valid statuses: Scheduled, Pending, Running, Success, Failed, Timeout, Stuck, CompletedWithErrors, Cancelling, Cancelled (\"Completed\" means Success)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for ExecutionStatus {
    type Err = UnknownStatus;

    /// Accepts the stored names case-insensitively, with or without `_`/`-` between words,
    /// and `Completed` as another name for `Success` (the reference SDK's docs use it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded: String = s
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        if folded == "completed" {
            return Ok(Self::Success);
        }
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(&folded))
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// Severity of a log line; stored and streamed in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// The upper-case name, e.g. `WARNING`.
    pub fn as_str(self) -> &'static str {
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
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(Self::Debug),
            "INFO" => Ok(Self::Info),
            "WARNING" | "WARN" => Ok(Self::Warning),
            "ERROR" => Ok(Self::Error),
            "CRITICAL" => Ok(Self::Critical),
            _ => Err(format!("unknown log level {s:?}")),
        }
    }
}

/// A log stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// The smallest id: "from the beginning".
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };

    /// The id right after this one, for an exclusive start; `None` after the largest id.
    pub fn successor(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// Parses a start position: `0` or `-` (the beginning), `<ms>` (that millisecond's
    /// first entry) or `<ms>-<seq>`.
    pub fn parse_start(s: &str) -> Result<StreamId, String> {
        let s = s.trim();
        if s == "-" || s == "0" {
            return Ok(Self::MIN);
        }
        match s.split_once('-') {
            None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
                .parse::<u64>()
                .map(|ms| StreamId { ms, seq: 0 })
                .map_err(|_| format!("{s:?} is out of range")),
            None => Err(format!(
                "{s:?} is not a stream id (expected <ms>-<seq>, <ms>, or 0 for the beginning)"
            )),
            Some(_) => s.parse(),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for StreamId {
    type Err = String;
    /// Parses a full id `<ms>-<seq>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a stream id (expected <ms>-<seq>)");
        let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(bad());
        }
        Ok(StreamId {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// One log line as the guest writes it, before it has a stream id.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// The message text.
    pub message: String,
    /// A JSON object, or `None`.
    pub metadata: Option<serde_json::Value>,
    /// When the line was written.
    pub timestamp: DateTime<Utc>,
}

/// One stored log entry of an execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// Stream entry id.
    #[serde(serialize_with = "ser_display")]
    pub id: StreamId,
    /// The execution that wrote it.
    pub execution_id: Uuid,
    /// Severity.
    pub level: LogLevel,
    /// The message text.
    pub message: String,
    /// A JSON object, or `None`.
    pub metadata: Option<serde_json::Value>,
    /// When the line was written.
    #[serde(serialize_with = "ser_rfc3339")]
    pub timestamp: DateTime<Utc>,
}

/// An execution as stored, with the reference SDK's field names when serialised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    /// Execution id.
    #[serde(rename = "execution_id")]
    pub id: Uuid,
    /// Workflow name.
    pub workflow_name: String,
    /// Organisation, if any.
    #[serde(rename = "org_id")]
    pub organization_id: Option<Uuid>,
    /// Form that triggered it, if any.
    pub form_id: Option<Uuid>,
    /// User who started it.
    pub executed_by: Uuid,
    /// That user's display name.
    pub executed_by_name: String,
    /// Current status.
    pub status: ExecutionStatus,
    /// Input parameters.
    #[serde(rename = "input_data")]
    pub parameters: serde_json::Value,
    /// Result, once there is one.
    pub result: Option<serde_json::Value>,
    /// Rendering hint for the result.
    pub result_type: Option<String>,
    /// Error message of a failed execution.
    pub error_message: Option<String>,
    /// Duration of the run.
    pub duration_ms: Option<i64>,
    /// When it started (for a queued execution: when it was queued).
    #[serde(serialize_with = "ser_rfc3339_opt")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(serialize_with = "ser_rfc3339_opt")]
    pub completed_at: Option<DateTime<Utc>>,
    /// When the row was created.
    #[serde(serialize_with = "ser_rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Captured log entries, where the caller asked for them.
    pub logs: Option<Vec<LogEntry>>,
    /// Runtime variables (a JSON object).
    pub variables: Option<serde_json::Value>,
    /// CLI session id.
    pub session_id: Option<String>,
    /// Peak linear memory of the run.
    pub peak_memory_bytes: Option<i64>,
    /// CPU time of the run.
    pub cpu_total_seconds: Option<f64>,
    /// Log lines the execution's log caps did not keep (none when all were kept).
    pub log_lines_dropped: Option<i64>,
}

impl Execution {
    /// Removes what only platform admins may see (variables and resource figures).
    pub fn redact_for(mut self, is_platform_admin: bool) -> Self {
        if !is_platform_admin {
            self.variables = None;
            self.peak_memory_bytes = None;
            self.cpu_total_seconds = None;
        }
        self
    }
}

/// A new execution row, as the runner records it before the run.
#[derive(Debug, Clone)]
pub struct NewExecution {
    /// Execution id.
    pub id: Uuid,
    /// Workflow name.
    pub workflow_name: String,
    /// Input parameters.
    pub parameters: serde_json::Value,
    /// Who starts it.
    pub executed_by: Uuid,
    /// Their display name.
    pub executed_by_name: String,
    /// Their organisation.
    pub organization_id: Option<Uuid>,
    /// Triggering form.
    pub form_id: Option<Uuid>,
    /// CLI session.
    pub session_id: Option<String>,
    /// Queue time; `started_at` and `created_at` start as this.
    pub created_at: DateTime<Utc>,
}

/// How a run ended, as the runner records it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Final status.
    pub status: ExecutionStatus,
    /// Result, if any.
    pub result: Option<serde_json::Value>,
    /// Rendering hint.
    pub result_type: Option<String>,
    /// Error message, if failed.
    pub error_message: Option<String>,
    /// Wall time of the run.
    pub duration_ms: i64,
    /// End time.
    pub completed_at: DateTime<Utc>,
    /// Peak linear memory.
    pub peak_memory_bytes: i64,
    /// CPU time spent running the guest.
    pub cpu_total_seconds: f64,
    /// Log lines the log caps did not keep.
    pub log_lines_dropped: i64,
}

fn ser_display<S: serde::Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// RFC 3339 in UTC with a `Z` and microseconds, the form every timestamp takes on the wire.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn ser_rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(t))
}

fn ser_rfc3339_opt<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip_and_aliases() {
        for st in ExecutionStatus::ALL {
            assert_eq!(st.as_str().parse::<ExecutionStatus>(), Ok(st));
        }
        assert_eq!("failed".parse(), Ok(ExecutionStatus::Failed));
        assert_eq!(
            "completed_with_errors".parse(),
            Ok(ExecutionStatus::CompletedWithErrors)
        );
        assert_eq!("Completed".parse(), Ok(ExecutionStatus::Success));
        let err = "Done".parse::<ExecutionStatus>().unwrap_err().to_string();
        assert!(
            err.contains("\"Done\"") && err.contains("CompletedWithErrors"),
            "{err}"
        );
    }

    #[test]
    fn stream_ids_parse_and_order() {
        assert_eq!(StreamId::parse_start("0"), Ok(StreamId::MIN));
        assert_eq!(StreamId::parse_start("-"), Ok(StreamId::MIN));
        assert_eq!(StreamId::parse_start("17"), Ok(StreamId { ms: 17, seq: 0 }));
        assert_eq!(
            StreamId::parse_start("17-3"),
            Ok(StreamId { ms: 17, seq: 3 })
        );
        for bad in [
            "abc",
            "1-",
            "-1",
            "1-2-3",
            "1--2",
            "x-1",
            "+",
            "99999999999999999999-0",
            "1-+2",
        ] {
            assert!(
                StreamId::parse_start(bad).is_err(),
                "{bad} should be rejected"
            );
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
