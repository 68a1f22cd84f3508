//! One provider instance: the fixture loaded into the host's own service,
//! [`ExecutionsService`] over a [`MemoryStore`] and a [`MemoryLogStream`], and the
//! instance's binding (caller, current execution), as the host binds them to an instance.
//!
//! Every rule (validation, visibility, ordering, cursor pages, redaction, limits, errors) is
//! the service's; this module only loads the fixture, binds the instance and drives the
//! service's futures, which the in-memory backends complete at once.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bifrost_core::identity::{ExecutionContext, Identity};
use bifrost_core::limits::Limits;
use bifrost_core::logs::{LogStream, MemoryLogStream};
use bifrost_core::memory::MemoryStore;
use bifrost_core::model::{Execution, LogEntry, LogLevel};
use bifrost_core::query::{ListFilter, LogRange};
use bifrost_core::service::ExecutionPage;
use bifrost_core::values::VariableSizes;
use bifrost_core::{ApiError, ExecutionsService};

use crate::fixture::{Loaded, Workflow, next_id, to_micros};

/// Runs a future of the in-memory backends to its end. They never wait, so one poll ends
/// them; a future that is not ready after it (a backend that waits, which would be a bug of
/// the provider) fails the call with `internal` instead of blocking the instance for ever.
pub fn block_on<T>(future: impl Future<Output = Result<T, ApiError>>) -> Result<T, ApiError> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(answer) => answer,
        Poll::Pending => Err(ApiError::Internal(
            "the provider's in-memory backend did not answer at once (the provider has no \
             async runtime to wait on it)"
                .into(),
        )),
    }
}

/// The fixture behind the service, with what the workflow has logged and set since it was
/// loaded.
#[derive(Debug)]
pub struct Instance {
    caller: Identity,
    current: Option<ExecutionContext>,
    service: ExecutionsService,
    /// The service's store, where the children `start` records go.
    store: Arc<MemoryStore>,
    workflows: Vec<Workflow>,
    limits: Limits,
    /// The sizes of the current execution's variables, for their total cap: those the
    /// fixture lists, then those the workflow sets (the instance is their only writer).
    variables: VariableSizes,
}

impl Instance {
    /// An instance over a loaded fixture, with the host's default limits.
    ///
    /// Executions go to the store with their log entries, except the current execution's
    /// entries: those go to the live log stream, where the host keeps a running execution's
    /// log and where `log` appends, so that reads see one log in one place.
    pub fn new(fixture: Loaded) -> Result<Self, String> {
        let store = Arc::new(MemoryStore::new());
        let stream = MemoryLogStream::new();
        let current_id = fixture.current.as_ref().map(|c| c.execution_id);
        let mut variables = VariableSizes::default();
        for held in fixture.executions {
            if Some(held.execution.id) == current_id {
                variables = VariableSizes::of(held.execution.variables.as_ref());
                block_on(async { Ok(stream.append(&held.logs).await?) })
                    .map_err(|e| format!("execution {}: {e}", held.execution.id))?;
                store.insert(held.execution, Vec::new());
            } else {
                store.insert(held.execution, held.logs);
            }
        }
        Ok(Self {
            caller: fixture.caller,
            current: fixture.current,
            service: ExecutionsService::new(store.clone(), Arc::new(stream)),
            store,
            workflows: fixture.workflows,
            limits: Limits::default(),
            variables,
        })
    }

    /// Who the workflow runs as.
    pub fn caller(&self) -> &Identity {
        &self.caller
    }

    /// The execution the workflow runs in.
    pub fn current(&self) -> Option<&ExecutionContext> {
        self.current.as_ref()
    }

    /// `list`.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Execution>, ApiError> {
        block_on(self.service.list(&self.caller, filter))
    }

    /// `list-page`.
    pub fn list_page(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
    ) -> Result<ExecutionPage, ApiError> {
        block_on(self.service.list_page(&self.caller, filter, cursor))
    }

    /// `get`.
    pub fn get(&self, execution_id: &str) -> Result<Execution, ApiError> {
        block_on(self.service.get(&self.caller, execution_id))
    }

    /// `get-current-logs`.
    pub fn logs(
        &self,
        execution_id: Option<&str>,
        start: Option<&str>,
        count: Option<u32>,
    ) -> Result<Vec<LogEntry>, ApiError> {
        self.logs_in(execution_id, LogRange::validate(start, count)?)
    }

    /// `get-current-logs` with the range already validated (0.2.0 passes a typed start).
    pub fn logs_in(
        &self,
        execution_id: Option<&str>,
        range: LogRange,
    ) -> Result<Vec<LogEntry>, ApiError> {
        let current = self.current.as_ref().map(|c| c.execution_id);
        block_on(
            self.service
                .logs_in(&self.caller, current, execution_id, range),
        )
    }

    /// `log`: checks the line as the host does and appends it to the current execution's
    /// live log, at once (no caps on the log's volume). Outside an execution the line goes
    /// to stderr, as the host sends it to its own log.
    pub fn log(
        &self,
        level: LogLevel,
        message: String,
        metadata: Option<String>,
    ) -> Result<(), ApiError> {
        let line = bifrost_core::values::log_line(level, message, metadata, &self.limits)?;
        let Some(current) = &self.current else {
            eprintln!("{} {}", line.level, line.message);
            return Ok(());
        };
        let stream = self.service.log_stream();
        let execution_id = current.execution_id;
        block_on(async {
            // Stores keep microseconds: the entry is what they would give back.
            let timestamp = to_micros(line.timestamp);
            let last = stream.last_id(execution_id).await?;
            let entry = LogEntry {
                id: next_id(last, &timestamp),
                execution_id,
                level: line.level,
                message: line.message,
                metadata: line.metadata,
                timestamp,
            };
            Ok(stream.append(&[entry]).await?)
        })
    }

    /// `workflows.list`: the fixture's workflows. Needs the current execution, as in the host.
    pub fn workflows(&self) -> Result<&[Workflow], ApiError> {
        self.current.as_ref().ok_or(ApiError::NoExecutionContext)?;
        Ok(&self.workflows)
    }

    /// `workflows.start`: records a child of the current execution that has already ended
    /// as the fixture's run for `input` says, and returns its id. The child runs as the
    /// caller, with the current execution as its parent; no workflow runs.
    ///
    /// `not-found` for a workflow the fixture does not list; `internal` when it lists runs
    /// and none answers this input (the fixture is incomplete, not the workflow wrong).
    pub fn start(
        &mut self,
        workflow_name: &str,
        input: &str,
        id: uuid::Uuid,
    ) -> Result<uuid::Uuid, ApiError> {
        let parent = self
            .current
            .as_ref()
            .ok_or(ApiError::NoExecutionContext)?
            .execution_id;
        let input = bifrost_core::values::child_input(input, &self.limits)?;
        let workflow = self
            .workflows
            .iter()
            .find(|w| w.name == workflow_name)
            .ok_or_else(|| ApiError::NotFound(workflow_name.to_owned()))?;
        let run = workflow.run_for(&input).ok_or_else(|| {
            ApiError::Internal(format!(
                "the fixture's workflow {workflow_name:?} has no run for the input {input}"
            ))
        })?;
        let now = to_micros(chrono::Utc::now());
        self.store.insert(
            Execution {
                id,
                workflow_name: workflow.name.clone(),
                organization_id: self.caller.organization_id,
                form_id: None,
                parent_execution_id: Some(parent),
                executed_by: self.caller.user_id,
                executed_by_name: self.caller.user_name.clone(),
                status: run.status,
                parameters: input,
                result: run.result,
                result_type: None,
                error_message: run.error_message,
                duration_ms: Some(0),
                started_at: Some(now),
                completed_at: Some(now),
                created_at: now,
                logs: None,
                variables: None,
                session_id: None,
                peak_memory_bytes: None,
                cpu_total_seconds: None,
                log_lines_dropped: None,
                workflow_version: Some(workflow.version.clone()),
            },
            Vec::new(),
        );
        Ok(id)
    }

    /// `workflows.wait`: the record of a child of the current execution (children recorded
    /// by the fixture included); they have all ended, so no wait. `not-found` for an id that
    /// is no child of the current execution.
    pub fn wait(&self, execution_id: &str) -> Result<Execution, ApiError> {
        let parent = self
            .current
            .as_ref()
            .ok_or(ApiError::NoExecutionContext)?
            .execution_id;
        match self.get(execution_id) {
            Ok(child) if child.parent_execution_id == Some(parent) => Ok(child),
            Ok(_) | Err(ApiError::PermissionDenied(_)) => {
                Err(ApiError::NotFound(execution_id.to_owned()))
            }
            Err(e) => Err(e),
        }
    }

    /// `set-variable`: sets a runtime variable of the current execution.
    pub fn set_variable(&mut self, name: &str, value: &str) -> Result<(), ApiError> {
        let current = self
            .current
            .as_ref()
            .ok_or(ApiError::NoExecutionContext)?
            .execution_id;
        block_on(
            self.service
                .set_variable(current, name, value, &mut self.variables, &self.limits),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::load;
    use bifrost_core::model::ExecutionStatus;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use crate::fixture::tests::{CURRENT, ME, ORG, fixture, now};

    fn instance_of(f: &serde_json::Value) -> Instance {
        Instance::new(load(&f.to_string(), now()).unwrap()).unwrap()
    }

    fn instance(admin: bool) -> Instance {
        instance_of(&fixture(admin))
    }

    fn ids(rows: &[Execution]) -> Vec<String> {
        rows.iter()
            .map(|e| e.id.to_string()[31..].to_owned())
            .collect()
    }

    fn invalid(parameter: &'static str) -> impl Fn(&ApiError) -> bool {
        move |e| matches!(e, ApiError::InvalidArgument { parameter: p, .. } if *p == parameter)
    }

    #[test]
    fn fixture_defaults_and_the_current_execution_row() {
        let s = instance(true);
        let rows = s.list(&ListFilter::default()).unwrap();
        // Admin of ORG: the current execution (added, newest), then ORG's rows; not the
        // row outside any organisation.
        assert_eq!(ids(&rows), ["0c0de", "00102", "00101"]);
        assert_eq!(rows[0].status, ExecutionStatus::Running);
        assert_eq!(rows[0].executed_by.to_string(), ME);
        // "completed" is another name of Success; created_at stands in for started_at.
        assert_eq!(rows[1].status, ExecutionStatus::Success);
        // Ids given to entries without one follow each other within the millisecond.
        let logs = s
            .logs(Some("00000000-0000-4000-8000-000000000101"), None, None)
            .unwrap();
        let log_ids: Vec<String> = logs.iter().map(|l| l.id.to_string()).collect();
        assert_eq!(log_ids, ["1777111200001-0", "1777111200001-1"]);
    }

    #[test]
    fn visibility_redaction_and_errors_follow_the_host() {
        let s = instance(false);
        assert_eq!(
            ids(&s.list(&ListFilter::default()).unwrap()),
            ["0c0de", "00101"]
        );
        let got = s.get("00000000-0000-4000-8000-000000000101").unwrap();
        assert_eq!(got.variables, None, "admin-only field");
        assert_eq!(got.logs.map(|l| l.len()), Some(2), "ended: logs filled");
        assert_eq!(
            s.get("00000000-0000-4000-8000-000000000102"),
            Err(ApiError::PermissionDenied(
                "00000000-0000-4000-8000-000000000102".into()
            ))
        );
        assert_eq!(
            s.get("00000000-0000-4000-8000-000000000999"),
            Err(ApiError::NotFound(
                "00000000-0000-4000-8000-000000000999".into()
            ))
        );
        assert!(s.get("nope").is_err_and(|e| invalid("execution_id")(&e)));
        let zero = ListFilter {
            limit: Some(0),
            ..Default::default()
        };
        assert!(s.list(&zero).is_err_and(|e| invalid("limit")(&e)));
        assert!(
            s.logs(None, Some("soon"), None)
                .is_err_and(|e| invalid("start")(&e))
        );
        // The current execution runs: no logs with it.
        assert_eq!(s.get(CURRENT).unwrap().logs, None);
    }

    #[test]
    fn pages_end_without_a_cursor() {
        let s = instance(true);
        let one = ListFilter {
            limit: Some(2),
            ..Default::default()
        };
        let first = s.list_page(&one, None).unwrap();
        assert_eq!(ids(&first.executions), ["0c0de", "00102"]);
        let second = s.list_page(&one, first.next_cursor.as_deref()).unwrap();
        assert_eq!(ids(&second.executions), ["00101"]);
        assert_eq!(second.next_cursor, None);
        assert!(
            s.list_page(&one, Some("v1.garbage"))
                .is_err_and(|e| invalid("cursor")(&e))
        );
    }

    #[test]
    fn log_and_set_variable_write_to_the_current_execution() {
        let mut s = instance(true);
        s.log(LogLevel::Info, "hello".into(), Some(r#"{"n":1}"#.into()))
            .unwrap();
        s.log(LogLevel::Warning, "again".into(), None).unwrap();
        let logs = s.logs(None, None, None).unwrap();
        assert!(logs.iter().all(|l| l.execution_id.to_string() == CURRENT));
        assert_eq!(
            logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            ["hello", "again"]
        );
        assert_eq!(
            logs[0].metadata.as_ref().map(|m| m.as_str()),
            Some(r#"{"n":1}"#)
        );
        assert!(logs[0].id < logs[1].id);
        // The same entries by the current execution's explicit id.
        assert_eq!(s.logs(Some(CURRENT), None, None).unwrap().len(), 2);
        // From the second entry's id on.
        let from = s.logs(None, Some(&logs[1].id.to_string()), None).unwrap();
        assert_eq!(from.len(), 1);
        assert!(
            s.log(LogLevel::Info, "x".into(), Some("[1]".into()))
                .is_err_and(|e| invalid("metadata")(&e))
        );
        s.set_variable("answer", "42").unwrap();
        let current = s.list(&ListFilter::default()).unwrap().remove(0);
        assert_eq!(current.variables.unwrap()["answer"], json!(42));
        assert!(s.set_variable("", "1").is_err_and(|e| invalid("name")(&e)));
    }

    #[test]
    fn the_current_executions_fixture_log_goes_on_with_new_lines() {
        let mut f = fixture(true);
        f["executions"].as_array_mut().unwrap().push(
            json!({"execution_id": CURRENT, "workflow_name": "report", "executed_by": ME,
                "org_id": ORG, "status": "Running", "started_at": "2026-04-30T00:00:00Z",
                "variables": {"big": "x".repeat(Limits::default().max_variables_bytes - 100)},
                "logs": [{"id": "99999999999999-5", "level": "INFO", "message": "listed",
                          "timestamp": "2026-04-30T00:00:00Z"}]}),
        );
        let mut s = instance_of(&f);
        s.log(LogLevel::Info, "new".into(), None).unwrap();
        let logs = s.logs(None, None, None).unwrap();
        assert_eq!(
            logs.iter().map(|l| l.id.to_string()).collect::<Vec<_>>(),
            ["99999999999999-5", "99999999999999-6"]
        );
        // The listed variables count towards the total cap.
        let value = format!("\"{}\"", "y".repeat(200));
        assert!(matches!(
            s.set_variable("more", &value),
            Err(ApiError::TooLarge(m)) if m.contains("past the limit")
        ));
        s.set_variable("small", "1").unwrap();
    }

    #[test]
    fn outside_an_execution() {
        let mut f = fixture(true);
        f.as_object_mut().unwrap().remove("current_execution");
        let mut s = instance_of(&f);
        assert_eq!(s.logs(None, None, None), Err(ApiError::NoExecutionContext));
        assert_eq!(s.set_variable("a", "1"), Err(ApiError::NoExecutionContext));
        assert_eq!(s.log(LogLevel::Info, "to stderr".into(), None), Ok(()));
    }

    #[test]
    fn times_are_kept_to_the_microsecond_like_the_stores() {
        let mut f = fixture(true);
        f["executions"][0]["started_at"] = json!("2026-04-25T10:00:00.1234567Z");
        let s = instance_of(&f);
        let shown = s.get("00000000-0000-4000-8000-000000000101").unwrap();
        assert_eq!(
            shown.started_at,
            Some(
                "2026-04-25T10:00:00.123456Z"
                    .parse::<DateTime<Utc>>()
                    .unwrap()
            )
        );
        // An end bound given as the time a caller was shown includes the row.
        let until = ListFilter {
            end_date: Some("2026-04-25T10:00:00.123456Z".into()),
            ..Default::default()
        };
        assert_eq!(ids(&s.list(&until).unwrap()), ["00101"]);
    }

    #[test]
    fn a_future_that_waits_is_an_internal_error_not_a_hang() {
        let pending = std::future::pending::<Result<(), ApiError>>();
        assert!(matches!(block_on(pending), Err(ApiError::Internal(m)) if m.contains("at once")));
        assert_eq!(block_on(async { Ok::<_, ApiError>(7) }), Ok(7));
    }

    #[test]
    fn children_come_from_the_fixtures_workflows() {
        let mut f = fixture(false);
        f["workflows"] = json!([
            {"name": "ship", "runs": [
                {"input": {"n": 1}, "result": {"ok": true}},
                {"status": "Timeout", "error_message": "too slow"}]},
            {"name": "tidy"},
            {"name": "strict", "runs": [{"input": {"n": 1}}]}
        ]);
        let mut s = instance_of(&f);
        assert_eq!(
            s.workflows()
                .unwrap()
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>(),
            ["ship", "tidy", "strict"]
        );
        let id = |n: u128| uuid::Uuid::from_u128(0xc000 + n);
        let child = s.start("ship", r#"{"n":1}"#, id(1)).unwrap();
        let done = s.wait(&child.to_string()).unwrap();
        assert_eq!(done.status, ExecutionStatus::Success);
        assert_eq!(done.result, Some(json!({"ok": true})));
        assert_eq!(
            done.parent_execution_id.map(|p| p.to_string()),
            Some(CURRENT.into())
        );
        assert_eq!(done.executed_by.to_string(), ME);
        assert_eq!(
            done.organization_id.map(|o| o.to_string()),
            Some(ORG.into())
        );
        // Any other input: the run listed for any input.
        let other = s.start("ship", r#"{"n":2}"#, id(2)).unwrap();
        let other = s.wait(&other.to_string()).unwrap();
        assert_eq!(other.status, ExecutionStatus::Timeout);
        assert_eq!(other.error_message.as_deref(), Some("too slow"));
        // No runs: success with null. Runs, none for this input: the fixture is incomplete.
        let tidy = s.start("tidy", "{}", id(3)).unwrap();
        assert_eq!(s.wait(&tidy.to_string()).unwrap().result, Some(json!(null)));
        assert!(
            matches!(s.start("strict", "{}", id(4)), Err(ApiError::Internal(m)) if m.contains("no run"))
        );
        assert_eq!(
            s.start("nope", "{}", id(5)),
            Err(ApiError::NotFound("nope".into()))
        );
        assert!(
            s.start("ship", "{oops", id(6))
                .is_err_and(|e| invalid("input")(&e))
        );
        // The children are executions the caller lists; a row that is no child is not
        // found by `wait`.
        assert!(ids(&s.list(&ListFilter::default()).unwrap()).contains(&"0c001".to_owned()));
        assert_eq!(
            s.wait("00000000-0000-4000-8000-000000000101"),
            Err(ApiError::NotFound(
                "00000000-0000-4000-8000-000000000101".into()
            ))
        );
    }

    #[test]
    fn outside_an_execution_no_child_starts() {
        let mut f = fixture(false);
        f.as_object_mut().unwrap().remove("current_execution");
        f["workflows"] = json!([{"name": "tidy"}]);
        let mut s = instance_of(&f);
        assert_eq!(s.workflows().err(), Some(ApiError::NoExecutionContext));
        assert_eq!(
            s.start("tidy", "{}", uuid::Uuid::nil()),
            Err(ApiError::NoExecutionContext)
        );
        assert!(
            crate::fixture::load(
                &json!({"caller": {"user_id": ME}, "workflows": [
                {"name": "a", "runs": [{"status": "Running"}]}]})
                .to_string(),
                now()
            )
            .is_err_and(|e| e.contains("not one an ended execution has"))
        );
    }
}
