//! An execution and its log entries as the module answers them, independent of any backend
//! and of the WIT bindings: the host's stores read them, the virtual provider holds them,
//! and both serialise them with the reference SDK's field names (what `bifrost-runner get`
//! prints and what a provider fixture takes).

use std::fmt;

pub use bifrost_types::{
    ExecutionStatus, LogLevel, ParseLogLevelError, ParseStatusError, ParseStreamIdError, StreamId,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::storable::storable_json;

/// A time as a [`Timestamp`](bifrost_types::Timestamp): seconds and nanoseconds in UTC
/// (a leap second's extra nanoseconds are folded into its last nanosecond).
pub fn timestamp(t: &DateTime<Utc>) -> bifrost_types::Timestamp {
    bifrost_types::Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos().min(999_999_999))
        .unwrap_or_default()
}

/// The wire form of a time: RFC 3339 in UTC with microseconds and a `Z`
/// (`2026-04-25T08:30:00.000000Z`), as [`Timestamp`](bifrost_types::Timestamp) writes it
/// (the one writer of it).
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    timestamp(t).to_string()
}

/// The metadata of a log line: a JSON object, kept as its compact text with its keys in
/// order (as `serde_json` writes a map), so that equal objects have equal text whichever
/// store they come from.
///
/// A kept line costs the bytes of its text, which is what the log caps count, not a tree
/// of values that can take many times more memory; and the text is written to streams,
/// stores and guests as it is.
#[derive(Clone)]
pub struct LogMetadata(Box<serde_json::value::RawValue>);

impl LogMetadata {
    /// The metadata of `object` (a JSON object: callers check that first).
    pub fn from_value(object: &serde_json::Value) -> Self {
        let text = object.to_string();
        Self(serde_json::value::RawValue::from_string(text).expect("serde_json writes JSON"))
    }

    /// Metadata from JSON text another writer stored: parsed (a JSON object, else
    /// `None`), made storable ([`storable_json`](crate::storable::storable_json)) and
    /// written in the canonical form.
    pub fn parse(text: &str) -> Option<Self> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v @ serde_json::Value::Object(_)) => Some(Self::from_value(&storable_json(v))),
            _ => None,
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Bytes of the JSON text.
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Always `false`: the text is at least `{}`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The object as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).expect("kept as valid JSON")
    }

    /// The same metadata with U+0000 replaced, as every store keeps it
    /// ([`storable_json`](crate::storable::storable_json)).
    pub fn storable(self) -> Self {
        // serde_json writes U+0000 as this escape; anything else needs no change.
        if self.as_str().contains("\\u0000") {
            Self::from_value(&storable_json(self.to_value()))
        } else {
            self
        }
    }
}

impl PartialEq for LogMetadata {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for LogMetadata {}

impl fmt::Debug for LogMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LogMetadata {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl From<&serde_json::Value> for LogMetadata {
    fn from(object: &serde_json::Value) -> Self {
        Self::from_value(object)
    }
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
    pub metadata: Option<LogMetadata>,
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
    /// The execution that started this one (a workflow that starts workflows); none for
    /// an execution started from outside.
    pub parent_execution_id: Option<Uuid>,
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
    /// The deployed version (SHA-256 of the component) a submitted execution runs; none
    /// for a component run from a file. Not part of the WIT record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<String>,
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

fn ser_display<S: serde::Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
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

/// One log line as the guest writes it, before it has a stream id.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// The message text.
    pub message: String,
    /// A JSON object, or `None`.
    pub metadata: Option<LogMetadata>,
    /// When the line was written.
    pub timestamp: DateTime<Utc>,
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
    /// The execution that starts this one; none for one started from outside.
    pub parent_execution_id: Option<Uuid>,
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
