//! The fixture's executions behind the executions module's calls, with the host's rules from
//! `bifrost-query`: validation, visibility, ordering, cursor pages, redaction and limits.

use bifrost_query::InvalidArgument;
use bifrost_query::identity::{ExecutionContext, Identity};
use bifrost_query::limits::{Limits, truncate_with_marker};
use bifrost_query::query::{
    Cursor, ListFilter, LogRange, MAX_LOG_COUNT, RowKey, newest_first, parse_execution_id,
};
use bifrost_query::values::{Rejection, parse_metadata, parse_variable};
use bifrost_types::LogLevel;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::fixture::{Execution, Loaded, LogEntry, next_id};

/// Every way a call fails; one to one with the WIT `error` variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    NotFound(String),
    PermissionDenied(String),
    InvalidArgument(InvalidArgument),
    NoExecutionContext,
    Unavailable(String),
    TooLarge(String),
}

impl From<InvalidArgument> for Error {
    fn from(e: InvalidArgument) -> Self {
        Self::InvalidArgument(e)
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Invalid(e) => Self::InvalidArgument(e),
            Rejection::TooLarge(m) => Self::TooLarge(m),
        }
    }
}

/// One page of `list-page`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub executions: Vec<Execution>,
    pub next_cursor: Option<String>,
}

/// An execution as a caller receives it: `logs` filled by `get` once it has ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub execution: Execution,
    pub logs: Option<Vec<LogEntry>>,
}

/// The fixture in memory, with what the workflow has logged and set since it was loaded.
#[derive(Debug)]
pub struct Store {
    fixture: Loaded,
    limits: Limits,
}

fn key(e: &Execution) -> RowKey<'_> {
    RowKey {
        id: e.id,
        workflow_name: &e.workflow_name,
        status: e.status,
        started_at: e.started_at,
        executed_by: e.executed_by,
        organization_id: e.organization_id,
    }
}

impl Store {
    /// A store over a loaded fixture, with the host's default limits.
    pub fn new(fixture: Loaded) -> Self {
        Self {
            fixture,
            limits: Limits::default(),
        }
    }

    /// Who the workflow runs as.
    pub fn caller(&self) -> &Identity {
        &self.fixture.caller
    }

    /// The execution the workflow runs in.
    pub fn current(&self) -> Option<&ExecutionContext> {
        self.fixture.current.as_ref()
    }

    fn redact(&self, mut e: Execution) -> Execution {
        if !self.fixture.caller.is_platform_admin {
            e.variables = None;
            e.peak_memory_bytes = None;
            e.cpu_total_seconds = None;
        }
        e
    }

    fn rows(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        extra: u32,
    ) -> Result<Vec<Execution>, Error> {
        let query = filter.validate(cursor)?;
        let scope = self.fixture.caller.scope();
        let mut found: Vec<&Execution> = self
            .fixture
            .executions
            .iter()
            .filter(|e| query.admits(&scope, &key(e)))
            .collect();
        found.sort_by(|a, b| newest_first(&key(a), &key(b)));
        found.truncate(query.limit as usize + extra as usize);
        Ok(found.into_iter().cloned().collect())
    }

    /// `list`.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Execution>, Error> {
        let rows = self.rows(filter, None, 0)?;
        Ok(rows.into_iter().map(|e| self.redact(e)).collect())
    }

    /// `list-page`: one row more than the page tells whether another page exists, so the
    /// last page hands out no cursor (as the host does).
    pub fn list_page(&self, filter: &ListFilter, cursor: Option<&str>) -> Result<Page, Error> {
        let page_size = filter.validate(cursor)?.limit as usize;
        let mut rows = self.rows(filter, cursor, 1)?;
        let next_cursor = if rows.len() > page_size {
            rows.truncate(page_size);
            rows.last()
                .map(|last| Cursor::after(last.started_at, last.id).encode())
        } else {
            None
        };
        Ok(Page {
            executions: rows.into_iter().map(|e| self.redact(e)).collect(),
            next_cursor,
        })
    }

    fn visible(&self, id: Uuid) -> Result<&Execution, Error> {
        let e = self
            .fixture
            .executions
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        if !self
            .fixture
            .caller
            .can_view(e.executed_by, e.organization_id)
        {
            return Err(Error::PermissionDenied(id.to_string()));
        }
        Ok(e)
    }

    /// `get`: with its logs (at most 1000, oldest first) once the execution has ended.
    pub fn get(&self, id: &str) -> Result<Shown, Error> {
        let id = parse_execution_id(id)?;
        let e = self.visible(id)?.clone();
        let logs = e.status.is_final().then(|| {
            e.logs
                .iter()
                .take(MAX_LOG_COUNT as usize)
                .cloned()
                .collect()
        });
        Ok(Shown {
            execution: self.redact(e),
            logs,
        })
    }

    /// `get-current-logs`: the execution it read (the current one when `execution_id` is
    /// `None`) and its entries.
    pub fn logs(
        &self,
        execution_id: Option<&str>,
        start: Option<&str>,
        count: Option<u32>,
    ) -> Result<(Uuid, Vec<LogEntry>), Error> {
        let range = LogRange::validate(start, count)?;
        let current = self.current().map(|c| c.execution_id);
        let id = match execution_id {
            Some(s) => {
                let id = parse_execution_id(s)?;
                if Some(id) != current {
                    self.visible(id)?;
                }
                id
            }
            None => current.ok_or(Error::NoExecutionContext)?,
        };
        // The current execution is always a row (the fixture loader adds it).
        let e = self
            .fixture
            .executions
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let entries = e
            .logs
            .iter()
            .filter(|l| l.id >= range.start)
            .take(range.count as usize)
            .cloned()
            .collect();
        Ok((id, entries))
    }

    fn current_row(&mut self) -> Option<&mut Execution> {
        let id = self.fixture.current.as_ref()?.execution_id;
        self.fixture.executions.iter_mut().find(|e| e.id == id)
    }

    /// `log`: appends to the current execution's log. Outside an execution the line goes to
    /// stderr, as the host sends it to its own log.
    pub fn log(
        &mut self,
        level: LogLevel,
        message: String,
        metadata: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let now = crate::fixture::to_micros(now);
        let metadata = parse_metadata(metadata, &self.limits)?;
        let message = truncate_with_marker(message, self.limits.max_log_message_bytes);
        match self.current_row() {
            Some(e) => {
                let id = next_id(e.logs.last().map(|l| l.id), &now);
                e.logs.push(LogEntry {
                    id,
                    level,
                    message,
                    metadata,
                    timestamp: now,
                });
            }
            None => eprintln!("{level} {message}"),
        }
        Ok(())
    }

    /// `set-variable`: records a runtime variable on the current execution.
    pub fn set_variable(&mut self, name: &str, value: &str) -> Result<(), Error> {
        if self.fixture.current.is_none() {
            return Err(Error::NoExecutionContext);
        }
        let value = parse_variable(name, value, &self.limits)?;
        let e = self.current_row().ok_or(Error::NoExecutionContext)?;
        e.variables
            .get_or_insert_default()
            .insert(name.to_owned(), value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::load;
    use bifrost_types::ExecutionStatus;
    use serde_json::json;

    const ME: &str = "00000000-0000-4000-8000-000000000001";
    const OTHER: &str = "00000000-0000-4000-8000-000000000002";
    const ORG: &str = "00000000-0000-4000-8000-0000000000aa";
    const CURRENT: &str = "00000000-0000-4000-8000-00000000c0de";

    fn now() -> DateTime<Utc> {
        "2026-05-01T00:00:00Z".parse().unwrap()
    }

    fn fixture(admin: bool) -> serde_json::Value {
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

    fn store(admin: bool) -> Store {
        Store::new(load(&fixture(admin).to_string(), now()).unwrap())
    }

    fn ids(rows: &[Execution]) -> Vec<String> {
        rows.iter()
            .map(|e| e.id.to_string()[31..].to_owned())
            .collect()
    }

    #[test]
    fn fixture_defaults_and_the_current_execution_row() {
        let s = store(true);
        let rows = s.list(&ListFilter::default()).unwrap();
        // Admin of ORG: the current execution (added, newest), then ORG's rows; not the
        // row outside any organisation.
        assert_eq!(ids(&rows), ["0c0de", "00102", "00101"]);
        assert_eq!(rows[0].status, ExecutionStatus::Running);
        assert_eq!(rows[0].executed_by.to_string(), ME);
        // "completed" is another name of Success; created_at stands in for started_at.
        assert_eq!(rows[1].status, ExecutionStatus::Success);
        // Ids given to entries without one follow each other within the millisecond.
        let (_, logs) = s
            .logs(Some("00000000-0000-4000-8000-000000000101"), None, None)
            .unwrap();
        let log_ids: Vec<String> = logs.iter().map(|l| l.id.to_string()).collect();
        assert_eq!(log_ids, ["1777111200001-0", "1777111200001-1"]);
    }

    #[test]
    fn visibility_redaction_and_errors_follow_the_host() {
        let s = store(false);
        assert_eq!(
            ids(&s.list(&ListFilter::default()).unwrap()),
            ["0c0de", "00101"]
        );
        let got = s.get("00000000-0000-4000-8000-000000000101").unwrap();
        assert_eq!(got.execution.variables, None, "admin-only field");
        assert_eq!(got.logs.map(|l| l.len()), Some(2), "ended: logs filled");
        assert_eq!(
            s.get("00000000-0000-4000-8000-000000000102"),
            Err(Error::PermissionDenied(
                "00000000-0000-4000-8000-000000000102".into()
            ))
        );
        assert_eq!(
            s.get("00000000-0000-4000-8000-000000000999"),
            Err(Error::NotFound(
                "00000000-0000-4000-8000-000000000999".into()
            ))
        );
        assert!(matches!(
            s.get("nope"),
            Err(Error::InvalidArgument(InvalidArgument {
                parameter: "execution_id",
                ..
            }))
        ));
        let zero = ListFilter {
            limit: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            s.list(&zero),
            Err(Error::InvalidArgument(InvalidArgument {
                parameter: "limit",
                ..
            }))
        ));
        assert!(matches!(
            s.logs(None, Some("soon"), None),
            Err(Error::InvalidArgument(InvalidArgument {
                parameter: "start",
                ..
            }))
        ));
    }

    #[test]
    fn pages_end_without_a_cursor() {
        let s = store(true);
        let one = ListFilter {
            limit: Some(2),
            ..Default::default()
        };
        let first = s.list_page(&one, None).unwrap();
        assert_eq!(ids(&first.executions), ["0c0de", "00102"]);
        let second = s.list_page(&one, first.next_cursor.as_deref()).unwrap();
        assert_eq!(ids(&second.executions), ["00101"]);
        assert_eq!(second.next_cursor, None);
        assert!(matches!(
            s.list_page(&one, Some("v1.garbage")),
            Err(Error::InvalidArgument(InvalidArgument {
                parameter: "cursor",
                ..
            }))
        ));
    }

    #[test]
    fn log_and_set_variable_write_to_the_current_execution() {
        let mut s = store(true);
        s.log(
            LogLevel::Info,
            "hello".into(),
            Some(r#"{"n":1}"#.into()),
            now(),
        )
        .unwrap();
        s.log(LogLevel::Warning, "again".into(), None, now())
            .unwrap();
        let (id, logs) = s.logs(None, None, None).unwrap();
        assert_eq!(id.to_string(), CURRENT);
        assert_eq!(
            logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            ["hello", "again"]
        );
        assert!(logs[0].id < logs[1].id);
        // From the second entry's id on.
        let (_, from) = s.logs(None, Some(&logs[1].id.to_string()), None).unwrap();
        assert_eq!(from.len(), 1);
        assert!(matches!(
            s.log(LogLevel::Info, "x".into(), Some("[1]".into()), now()),
            Err(Error::InvalidArgument(InvalidArgument {
                parameter: "metadata",
                ..
            }))
        ));
        s.set_variable("answer", "42").unwrap();
        let current = s.list(&ListFilter::default()).unwrap().remove(0);
        assert_eq!(current.variables.unwrap()["answer"], json!(42));
        assert!(matches!(
            s.set_variable("", "1"),
            Err(Error::InvalidArgument(InvalidArgument {
                parameter: "name",
                ..
            }))
        ));
    }

    #[test]
    fn outside_an_execution() {
        let mut f = fixture(true);
        f.as_object_mut().unwrap().remove("current_execution");
        let mut s = Store::new(load(&f.to_string(), now()).unwrap());
        assert_eq!(s.logs(None, None, None), Err(Error::NoExecutionContext));
        assert_eq!(s.set_variable("a", "1"), Err(Error::NoExecutionContext));
        assert_eq!(
            s.log(LogLevel::Info, "to stderr".into(), None, now()),
            Ok(())
        );
    }

    #[test]
    fn times_are_kept_to_the_microsecond_like_the_stores() {
        let mut f = fixture(true);
        f["executions"][0]["started_at"] = json!("2026-04-25T10:00:00.1234567Z");
        let s = Store::new(load(&f.to_string(), now()).unwrap());
        let shown = s.get("00000000-0000-4000-8000-000000000101").unwrap();
        assert_eq!(
            shown.execution.started_at,
            "2026-04-25T10:00:00.123456Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
        );
        // An end bound given as the time a caller was shown includes the row.
        let until = ListFilter {
            end_date: Some("2026-04-25T10:00:00.123456Z".into()),
            ..Default::default()
        };
        assert_eq!(ids(&s.list(&until).unwrap()), ["00101"]);
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
