//! An execution and its log entries as the module answers them, independent of any backend
//! and of the WIT bindings: the host's stores read them, the virtual provider holds them,
//! and both serialise them with the reference SDK's field names (what `bifrost-runner get`
//! prints and what a provider fixture takes).

use std::fmt;

use bifrost_types::{ExecutionStatus, LogLevel, StreamId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::values::rfc3339;

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
