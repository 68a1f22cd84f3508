//! The fixture's executions behind the executions module's calls, with the host's rules from
//! `bifrost-query`: validation, visibility, ordering, cursor pages, redaction and limits.

use bifrost_query::InvalidArgument;
use bifrost_query::identity::{ExecutionContext, Identity};
use bifrost_query::limits::{Limits, truncate_with_marker};
use bifrost_query::query::{
    Cursor, ListFilter, ListQuery, LogRange, MAX_LOG_COUNT, RowKey, newest_first,
    parse_execution_id,
};
use bifrost_query::values::{
    Rejection, VariableSizes, parse_metadata, parse_variable, storable_text,
};
use bifrost_types::LogLevel;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use bifrost_query::model::{Execution, LogEntry};

use crate::fixture::{Held, Loaded, next_id};

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
        started_at: started_at(e),
        executed_by: e.executed_by,
        organization_id: e.organization_id,
    }
}

/// Where a row sits in the order; the loader gives every row a `started_at`, and the host's
/// cursor falls back to `created_at` the same way.
fn started_at(e: &Execution) -> DateTime<Utc> {
    e.started_at.unwrap_or(e.created_at)
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

    /// An execution as the caller receives it from `list`: no logs, admin-only fields
    /// removed for others.
    fn shown(&self, e: &Execution) -> Execution {
        e.clone().redact_for(self.fixture.caller.is_platform_admin)
    }

    /// The rows of a validated query, newest first, at most `limit` of them.
    fn rows(&self, query: &ListQuery, limit: usize) -> Vec<Execution> {
        let scope = self.fixture.caller.scope();
        let mut found: Vec<&Execution> = self
            .fixture
            .executions
            .iter()
            .map(|h| &h.execution)
            .filter(|e| query.admits(&scope, &key(e)))
            .collect();
        found.sort_by(|a, b| newest_first(&key(a), &key(b)));
        found.truncate(limit);
        found.into_iter().map(|e| self.shown(e)).collect()
    }

    /// `list`.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Execution>, Error> {
        let query = filter.validate(None)?;
        Ok(self.rows(&query, query.limit as usize))
    }

    /// `list-page`: one row more than the page tells whether another page exists, so the
    /// last page hands out no cursor (as the host does).
    pub fn list_page(&self, filter: &ListFilter, cursor: Option<&str>) -> Result<Page, Error> {
        let query = filter.validate(cursor)?;
        let page_size = query.limit as usize;
        let mut rows = self.rows(&query, page_size + 1);
        let next_cursor = if rows.len() > page_size {
            rows.truncate(page_size);
            rows.last()
                .map(|last| Cursor::after(started_at(last), last.id).encode())
        } else {
            None
        };
        Ok(Page {
            executions: rows,
            next_cursor,
        })
    }

    fn row(&self, id: Uuid) -> Result<&Held, Error> {
        self.fixture
            .executions
            .iter()
            .find(|h| h.execution.id == id)
            .ok_or_else(|| Error::NotFound(id.to_string()))
    }

    fn visible(&self, id: Uuid) -> Result<&Held, Error> {
        let held = self.row(id)?;
        let e = &held.execution;
        if !self
            .fixture
            .caller
            .can_view(e.executed_by, e.organization_id)
        {
            return Err(Error::PermissionDenied(id.to_string()));
        }
        Ok(held)
    }

    /// `get`: with its logs (at most 1000, oldest first) once the execution has ended.
    pub fn get(&self, id: &str) -> Result<Execution, Error> {
        let id = parse_execution_id(id)?;
        let held = self.visible(id)?;
        let mut shown = self.shown(&held.execution);
        if shown.status.is_final() {
            shown.logs = Some(
                held.logs
                    .iter()
                    .take(MAX_LOG_COUNT as usize)
                    .cloned()
                    .collect(),
            );
        }
        Ok(shown)
    }

    /// `get-current-logs`: entries of `execution_id`, or of the current execution.
    pub fn logs(
        &self,
        execution_id: Option<&str>,
        start: Option<&str>,
        count: Option<u32>,
    ) -> Result<Vec<LogEntry>, Error> {
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
        let entries = self
            .row(id)?
            .logs
            .iter()
            .filter(|l| l.id >= range.start)
            .take(range.count as usize)
            .cloned()
            .collect();
        Ok(entries)
    }

    fn current_row(&mut self) -> Option<&mut Held> {
        let id = self.fixture.current.as_ref()?.execution_id;
        self.fixture
            .executions
            .iter_mut()
            .find(|h| h.execution.id == id)
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
        let message =
            truncate_with_marker(storable_text(message), self.limits.max_log_message_bytes);
        match self.current_row() {
            Some(held) => {
                held.logs.push(LogEntry {
                    id: next_id(held.logs.last().map(|l| l.id), &now),
                    execution_id: held.execution.id,
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
        let (name, parsed) = parse_variable(name, value, &self.limits)?;
        let limits = self.limits.clone();
        let held = self.current_row().ok_or(Error::NoExecutionContext)?;
        VariableSizes::of(held.execution.variables.as_ref()).check(&name, value.len(), &limits)?;
        let value = parsed;
        match &mut held.execution.variables {
            Some(serde_json::Value::Object(vars)) => {
                vars.insert(name, value);
            }
            other => *other = Some(serde_json::json!({ name: value })),
        }
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
        let logs = s
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
        assert_eq!(got.variables, None, "admin-only field");
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
        let logs = s.logs(None, None, None).unwrap();
        assert!(logs.iter().all(|l| l.execution_id.to_string() == CURRENT));
        assert_eq!(
            logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            ["hello", "again"]
        );
        assert!(logs[0].id < logs[1].id);
        // From the second entry's id on.
        let from = s.logs(None, Some(&logs[1].id.to_string()), None).unwrap();
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
