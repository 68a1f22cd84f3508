//! Reports the failed executions of the last 24 hours.
//!
//! Input: none (or `{}`): the last 24 hours. `{"since": "2026-04-24T00:00:00Z"}` reports
//! from that time (any date or date-time `list` takes) instead, which makes a run
//! repeatable, e.g. in an offline test against a fixture. Result, e.g.:
//!
//! ```json
//! {
//!   "since": "2026-04-24T08:00:00.000000Z",
//!   "total_failed": 3,
//!   "by_workflow": {"nightly-sync": 2, "invoice": 1},
//!   "recent_errors": [{"execution_id": "…", "workflow_name": "nightly-sync",
//!                      "started_at": "…", "error_message": "timeout talking to CRM"}],
//!   "own_log_lines": 4
//! }
//! ```
//!
//! It sees what its caller may see: a platform admin gets the whole organisation's failures,
//! anyone else only their own.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bifrost::Timestamp;
use bifrost::executions::{self, ExecutionStatus};
use serde::{Deserialize, Serialize};

/// The report covers executions started in this window, up to now.
const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// How many of the most recent error messages the report lists.
const RECENT_ERRORS: usize = 5;
/// Page size when walking the failed executions.
const PAGE_SIZE: u32 = 1000;

/// Optional parameters; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
struct Input {
    /// Start of the window instead of 24 hours ago.
    since: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    /// Start of the window (as given, else RFC 3339 in UTC).
    since: String,
    total_failed: usize,
    /// Failed executions per workflow name.
    by_workflow: BTreeMap<String, usize>,
    /// The most recent failures that carry an error message, newest first.
    recent_errors: Vec<RecentError>,
    /// How many log lines this execution had written when it read its log back (the summary
    /// lines included; the final debug line about the count itself not).
    own_log_lines: usize,
}

#[derive(Debug, Serialize)]
struct RecentError {
    execution_id: String,
    workflow_name: String,
    started_at: Option<Timestamp>,
    error_message: String,
}

fn failure_report(input: Option<Input>) -> Result<Report, bifrost::Error> {
    let since = input
        .and_then(|i| i.since)
        .unwrap_or_else(|| Timestamp::from(SystemTime::now() - WINDOW).to_string());
    log::info!(since = since.as_str(); "collecting failed executions");

    let mut total_failed = 0;
    let mut by_workflow = BTreeMap::new();
    let mut recent_errors = Vec::new();
    let query = executions::list()
        .status(ExecutionStatus::Failed)
        .start_date(since.as_str())
        .limit(PAGE_SIZE);
    // Newest first, across as many pages as there are.
    for execution in &query {
        let execution = execution?;
        total_failed += 1;
        *by_workflow
            .entry(execution.workflow_name.clone())
            .or_insert(0) += 1;
        if recent_errors.len() < RECENT_ERRORS
            && let Some(message) = execution.error_message
        {
            recent_errors.push(RecentError {
                execution_id: execution.execution_id,
                workflow_name: execution.workflow_name,
                started_at: execution.started_at,
                error_message: message,
            });
        }
    }

    log::info!(
        total_failed,
        workflows = by_workflow.len(),
        by_workflow:serde = by_workflow;
        "{total_failed} failed executions since {since}"
    );
    if total_failed > 0 {
        log::warn!(recent:serde = recent_errors; "most recent failures");
    }

    // Read our own log back, every line, through the paging reader. Nothing may be logged
    // inside this loop: the reader follows the live stream, so it would read that line too.
    let mut own_log_lines = 0;
    for entry in executions::log_reader(None) {
        entry?;
        own_log_lines += 1;
    }
    log::debug!(own_log_lines; "read back this execution's log");

    Ok(Report {
        since,
        total_failed,
        by_workflow,
        recent_errors,
        own_log_lines,
    })
}

bifrost::workflow!(failure_report);
