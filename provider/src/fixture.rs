//! The fixture file: who the workflow runs as, the execution it runs in, and the executions
//! with their log entries. Rows take the shape `bifrost-runner get` prints, so a fixture can
//! start as a copy of real output.

use std::collections::BTreeMap;

use bifrost_core::identity::{ExecutionContext, Identity};
use bifrost_core::model::{Execution, LogEntry};
use bifrost_types::{ExecutionStatus, LogLevel, StreamId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

/// The whole fixture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Who the workflow runs as.
    pub caller: Caller,
    /// The execution the workflow runs in; without it, calls that need one fail with
    /// `no-execution-context`, as in the host outside an execution.
    #[serde(default)]
    pub current_execution: Option<Current>,
    /// Every execution the provider holds, in any order.
    #[serde(default)]
    pub executions: Vec<ExecutionRow>,
    /// The deployed workflows the `workflows` interface lists and starts, and what their
    /// runs answer.
    #[serde(default)]
    pub workflows: Vec<WorkflowRow>,
}

/// One deployed workflow of the fixture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRow {
    pub name: String,
    /// The deployed version as `workflows.list` shows it; default `fixture`.
    #[serde(default)]
    pub version: Option<String>,
    /// When that version was deployed; default: when the fixture loads.
    #[serde(default)]
    pub deployed_at: Option<DateTime<Utc>>,
    /// What a run answers: the first whose `input` equals the child's input, or that has no
    /// `input`. Without runs, every run succeeds with the result `null`.
    #[serde(default)]
    pub runs: Vec<RunRow>,
}

/// How one run of a fixture workflow ends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRow {
    /// The input this answer is for; none: any input.
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    /// A status of an ended execution (`Success`, `Failed`, `Timeout`, ...); default `Success`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// `caller` of the fixture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    pub user_id: Uuid,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub is_platform_admin: bool,
}

/// `current_execution` of the fixture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Current {
    pub execution_id: Uuid,
    pub workflow_name: String,
    /// The execution that started the current one, if a workflow did.
    #[serde(default)]
    pub parent_execution_id: Option<Uuid>,
}

/// One execution, with the field names of the reference SDK (and of `bifrost-runner get`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRow {
    pub execution_id: Uuid,
    pub workflow_name: String,
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub form_id: Option<Uuid>,
    pub executed_by: Uuid,
    #[serde(default)]
    pub executed_by_name: String,
    /// Any spelling `ExecutionStatus` parses (`Success`, `completed_with_errors`, ...).
    pub status: String,
    #[serde(default = "empty_object")]
    pub input_data: serde_json::Value,
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    #[serde(default)]
    pub result_type: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// Defaults to `created_at`; one of the two is required.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Defaults to `started_at`.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// The execution's log entries, oldest first.
    #[serde(default)]
    pub logs: Option<Vec<LogRow>>,
    #[serde(default)]
    pub variables: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub peak_memory_bytes: Option<i64>,
    #[serde(default)]
    pub cpu_total_seconds: Option<f64>,
    /// Accepted (the CLI prints it) and ignored: the WIT record has no such field.
    #[serde(default)]
    pub log_lines_dropped: Option<i64>,
    /// The execution that started this one, as `bifrost-runner get` prints it.
    #[serde(default)]
    pub parent_execution_id: Option<Uuid>,
}

/// One log entry of a fixture execution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRow {
    /// Stream id `<ms>-<seq>`; when left out, the entry gets the next id after the one
    /// before it (from its timestamp's millisecond).
    #[serde(default)]
    pub id: Option<String>,
    /// Accepted (the CLI prints it); must name the execution the entry is under.
    #[serde(default)]
    pub execution_id: Option<Uuid>,
    /// Any spelling `LogLevel` parses (`INFO`, `warning`, ...).
    pub level: String,
    pub message: String,
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    pub timestamp: DateTime<Utc>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// An execution as the provider holds it: the row (with a `started_at`, and `logs` left
/// `None`) and every one of its log entries, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub execution: Execution,
    pub logs: Vec<LogEntry>,
}

/// A loaded, checked fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub caller: Identity,
    pub current: Option<ExecutionContext>,
    pub executions: Vec<Held>,
    pub workflows: Vec<Workflow>,
}

/// A deployed workflow of a loaded fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub name: String,
    pub version: String,
    pub deployed_at: DateTime<Utc>,
    pub runs: Vec<Run>,
}

/// How a run of a [`Workflow`] ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub input: Option<serde_json::Value>,
    pub status: ExecutionStatus,
    pub result: Option<serde_json::Value>,
    pub error_message: Option<String>,
}

impl Workflow {
    /// The run that answers `input`: the first listed for it or for any input; a success
    /// with the result `null` when the workflow lists no runs.
    pub fn run_for(&self, input: &serde_json::Value) -> Option<Run> {
        if self.runs.is_empty() {
            return Some(Run {
                input: None,
                status: ExecutionStatus::Success,
                result: Some(serde_json::Value::Null),
                error_message: None,
            });
        }
        self.runs
            .iter()
            .find(|r| r.input.as_ref().is_none_or(|i| i == input))
            .cloned()
    }
}

/// A time as the stores keep it: whole microseconds (finer digits are dropped, as the host's
/// stores drop them), so that bounds, order and cursors compare what a caller was shown.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// Parses and checks fixture text. `now` is when a current execution the fixture does not
/// list starts. Every error names the execution (and entry) at fault.
pub fn load(text: &str, now: DateTime<Utc>) -> Result<Loaded, String> {
    let now = to_micros(now);
    let fixture: Fixture = serde_json::from_str(text).map_err(|e| format!("not a fixture: {e}"))?;
    let caller = Identity {
        user_id: fixture.caller.user_id,
        user_name: fixture.caller.user_name,
        organization_id: fixture.caller.org_id,
        is_platform_admin: fixture.caller.is_platform_admin,
    };
    let mut executions = Vec::with_capacity(fixture.executions.len() + 1);
    for row in fixture.executions {
        let held = convert(row)?;
        if executions
            .iter()
            .any(|h: &Held| h.execution.id == held.execution.id)
        {
            return Err(format!("execution {} is listed twice", held.execution.id));
        }
        executions.push(held);
    }
    let mut workflows: Vec<Workflow> = Vec::with_capacity(fixture.workflows.len());
    for row in fixture.workflows {
        let workflow = convert_workflow(row, now)?;
        if workflows.iter().any(|w| w.name == workflow.name) {
            return Err(format!("workflow {:?} is listed twice", workflow.name));
        }
        workflows.push(workflow);
    }
    let current = fixture.current_execution.map(|c| ExecutionContext {
        execution_id: c.execution_id,
        workflow_name: c.workflow_name,
        parent_execution_id: c.parent_execution_id,
    });
    if let Some(current) = &current {
        match executions
            .iter()
            .map(|h| &h.execution)
            .find(|e| e.id == current.execution_id)
        {
            Some(e) if e.workflow_name != current.workflow_name => {
                return Err(format!(
                    "current_execution {} is listed with workflow {:?}, not {:?}",
                    e.id, e.workflow_name, current.workflow_name
                ));
            }
            // As in the host: the execution a workflow runs in is running.
            Some(e) if e.status != ExecutionStatus::Running => {
                return Err(format!(
                    "current_execution {} is listed as {:?}; the execution a workflow runs in is Running",
                    e.id, e.status
                ));
            }
            Some(e) if e.parent_execution_id != current.parent_execution_id => {
                return Err(format!(
                    "current_execution {} is listed with parent {:?}, not {:?}",
                    e.id, e.parent_execution_id, current.parent_execution_id
                ));
            }
            Some(_) => {}
            // As in the host, the current execution is a row: running, started by the caller.
            None => executions.push(Held {
                logs: Vec::new(),
                execution: Execution {
                    id: current.execution_id,
                    workflow_name: current.workflow_name.clone(),
                    organization_id: caller.organization_id,
                    form_id: None,
                    parent_execution_id: current.parent_execution_id,
                    executed_by: caller.user_id,
                    executed_by_name: caller.user_name.clone(),
                    status: ExecutionStatus::Running,
                    parameters: empty_object(),
                    result: None,
                    result_type: None,
                    error_message: None,
                    duration_ms: None,
                    started_at: Some(now),
                    completed_at: None,
                    created_at: now,
                    logs: None,
                    variables: None,
                    session_id: None,
                    peak_memory_bytes: None,
                    cpu_total_seconds: None,
                    log_lines_dropped: None,
                    workflow_version: None,
                },
            }),
        }
    }
    Ok(Loaded {
        caller,
        current,
        executions,
        workflows,
    })
}

fn convert_workflow(row: WorkflowRow, now: DateTime<Utc>) -> Result<Workflow, String> {
    let name = row.name;
    let mut runs = Vec::with_capacity(row.runs.len());
    for (n, run) in row.runs.into_iter().enumerate() {
        let status = match run.status {
            None => ExecutionStatus::Success,
            Some(text) => text
                .parse::<ExecutionStatus>()
                .map_err(|e| format!("workflow {name:?}: run {n}: status: {e}"))?,
        };
        if !status.is_final() {
            return Err(format!(
                "workflow {name:?}: run {n}: status {status:?} is not one an ended execution has"
            ));
        }
        runs.push(Run {
            input: run.input,
            status,
            result: run.result,
            error_message: run.error_message,
        });
    }
    Ok(Workflow {
        name,
        version: row.version.unwrap_or_else(|| "fixture".to_owned()),
        deployed_at: to_micros(row.deployed_at.unwrap_or(now)),
        runs,
    })
}

fn convert(row: ExecutionRow) -> Result<Held, String> {
    let id = row.execution_id;
    let status = row
        .status
        .parse::<ExecutionStatus>()
        .map_err(|e| format!("execution {id}: status: {e}"))?;
    let (started_at, created_at) =
        match (row.started_at.map(to_micros), row.created_at.map(to_micros)) {
            (Some(s), Some(c)) => (s, c),
            (Some(s), None) => (s, s),
            (None, Some(c)) => (c, c),
            (None, None) => {
                return Err(format!("execution {id}: needs started_at or created_at"));
            }
        };
    let mut logs: Vec<LogEntry> = Vec::new();
    for (n, entry) in row.logs.unwrap_or_default().into_iter().enumerate() {
        let at = |what: String| format!("execution {id}: log entry {n}: {what}");
        if entry.execution_id.is_some_and(|e| e != id) {
            return Err(at("execution_id names another execution".into()));
        }
        let level = entry
            .level
            .parse::<LogLevel>()
            .map_err(|e| at(format!("level: {e}")))?;
        let entry_id = match entry.id {
            Some(text) => text
                .parse::<StreamId>()
                .map_err(|e| at(format!("id: {e}")))?,
            None => next_id(logs.last().map(|l| l.id), &to_micros(entry.timestamp)),
        };
        if logs.last().is_some_and(|last| last.id >= entry_id) {
            return Err(at(format!(
                "id {entry_id} does not follow the entry before it"
            )));
        }
        if entry.metadata.as_ref().is_some_and(|m| !m.is_object()) {
            return Err(at("metadata must be a JSON object".into()));
        }
        logs.push(LogEntry {
            id: entry_id,
            execution_id: id,
            level,
            message: entry.message,
            metadata: entry
                .metadata
                .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
                .map(|m| bifrost_core::model::LogMetadata::from_value(&m)),
            timestamp: to_micros(entry.timestamp),
        });
    }
    let execution = Execution {
        id,
        workflow_name: row.workflow_name,
        organization_id: row.org_id,
        form_id: row.form_id,
        parent_execution_id: row.parent_execution_id,
        executed_by: row.executed_by,
        executed_by_name: row.executed_by_name,
        status,
        parameters: row.input_data,
        result: row.result,
        result_type: row.result_type,
        error_message: row.error_message,
        duration_ms: row.duration_ms,
        started_at: Some(started_at),
        completed_at: row.completed_at.map(to_micros),
        created_at,
        logs: None,
        variables: row
            .variables
            .map(|v| serde_json::Value::Object(v.into_iter().collect())),
        session_id: row.session_id,
        peak_memory_bytes: row.peak_memory_bytes,
        cpu_total_seconds: row.cpu_total_seconds,
        log_lines_dropped: None,
        workflow_version: None,
    };
    Ok(Held { execution, logs })
}

/// The id of an entry written at `at` after `last`: `<ms>-0` in a new millisecond, the next
/// sequence number otherwise (never going back, whatever the clock says).
pub fn next_id(last: Option<StreamId>, at: &DateTime<Utc>) -> StreamId {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    match last {
        Some(last) if last.ms >= ms => last.successor().unwrap_or(last),
        _ => StreamId { ms, seq: 0 },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) const ME: &str = "00000000-0000-4000-8000-000000000001";
    const OTHER: &str = "00000000-0000-4000-8000-000000000002";
    pub(crate) const ORG: &str = "00000000-0000-4000-8000-0000000000aa";
    pub(crate) const CURRENT: &str = "00000000-0000-4000-8000-00000000c0de";

    pub(crate) fn now() -> DateTime<Utc> {
        "2026-05-01T00:00:00Z".parse().unwrap()
    }

    /// A fixture with a current execution not among its rows, and three rows: one of the
    /// caller's in ORG with logs, one of another user in ORG, one of the caller's outside
    /// any organisation.
    pub(crate) fn fixture(admin: bool) -> serde_json::Value {
        json!({
            "caller": {"user_id": ME, "user_name": "Ada", "org_id": ORG, "is_platform_admin": admin},
            "current_execution": {"execution_id": CURRENT, "workflow_name": "report"},
            "executions": [
                {"execution_id": "00000000-0000-4000-8000-000000000101", "workflow_name": "sync",
                 "executed_by": ME, "org_id": ORG, "status": "Failed",
                 "started_at": "2026-04-25T10:00:00Z", "variables": {"k": 1},
                 "logs": [
                    {"level": "INFO", "message": "one", "timestamp": "2026-04-25T10:00:00.001Z"},
                    {"level": "error", "message": "two", "timestamp": "2026-04-25T10:00:00.001Z",
                     "metadata": {"attempt": 2}}
                 ]},
                {"execution_id": "00000000-0000-4000-8000-000000000102", "workflow_name": "sync",
                 "executed_by": OTHER, "org_id": ORG, "status": "completed",
                 "created_at": "2026-04-26T10:00:00Z"},
                {"execution_id": "00000000-0000-4000-8000-000000000103", "workflow_name": "sync",
                 "executed_by": ME, "status": "Success", "started_at": "2026-04-27T10:00:00Z"}
            ]
        })
    }

    #[test]
    fn the_current_execution_is_added_as_a_running_row_of_the_caller() {
        let loaded = load(&fixture(false).to_string(), now()).unwrap();
        let current = loaded.current.as_ref().unwrap();
        assert_eq!(current.execution_id.to_string(), CURRENT);
        let row = loaded
            .executions
            .iter()
            .find(|h| h.execution.id == current.execution_id)
            .unwrap();
        assert_eq!(row.execution.status, ExecutionStatus::Running);
        assert_eq!(row.execution.executed_by.to_string(), ME);
        assert_eq!(row.execution.started_at, Some(now()));
        assert!(row.logs.is_empty());
    }

    #[test]
    fn entry_ids_follow_each_other() {
        let at: DateTime<Utc> = "2026-04-25T10:00:00.001Z".parse().unwrap();
        let first = next_id(None, &at);
        assert_eq!(first.to_string(), "1777111200001-0");
        assert_eq!(next_id(Some(first), &at).to_string(), "1777111200001-1");
        // Never back, whatever the clock says.
        let later = StreamId {
            ms: first.ms + 5,
            seq: 3,
        };
        assert_eq!(next_id(Some(later), &at).to_string(), "1777111200006-4");
    }

    #[test]
    fn bad_fixtures_say_what_is_wrong() {
        for (change, expected) in [
            (json!({"status": "Finished"}), "status"),
            (
                json!({"started_at": null}),
                "needs started_at or created_at",
            ),
            (
                json!({"logs": [{"level": "LOUD", "message": "m", "timestamp": "2026-04-25T10:00:00Z"}]}),
                "level",
            ),
            (
                json!({"logs": [{"id": "5-0", "level": "INFO", "message": "m", "timestamp": "2026-04-25T10:00:00Z"},
                             {"id": "4-0", "level": "INFO", "message": "m", "timestamp": "2026-04-25T10:00:00Z"}]}),
                "does not follow",
            ),
            (json!({"colour": "blue"}), "unknown field"),
            (
                json!({"execution_id": CURRENT, "workflow_name": "report"}),
                "is Running",
            ),
        ] {
            let mut f = fixture(true);
            let row = f["executions"][0].as_object_mut().unwrap();
            for (k, v) in change.as_object().unwrap() {
                row.insert(k.clone(), v.clone());
            }
            let err = load(&f.to_string(), now()).unwrap_err();
            assert!(err.contains(expected), "{change}: {err}");
        }
    }
}
