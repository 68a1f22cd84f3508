//! The host's types for executions and log entries (the shared ones from
//! [`bifrost_query::model`]), independent of any backend and of
//! the generated WIT bindings.

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use bifrost_query::model::{Execution, LogEntry, LogMetadata};
pub use bifrost_query::values::rfc3339;
pub use bifrost_types::{
    ExecutionStatus, LogLevel, ParseLogLevelError, ParseStatusError, ParseStreamIdError, StreamId,
};

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
