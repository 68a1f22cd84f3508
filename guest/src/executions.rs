//! Query execution history and read execution logs, with the caller's visibility.
//!
//! This mirrors the reference Python SDK's `from bifrost import executions`:
//!
//! | Python | Rust |
//! |---|---|
//! | `executions.list(status="Failed", limit=10)` | [`list()`]`.status(ExecutionStatus::Failed).limit(10).fetch()` |
//! | `executions.get(id)` | [`get`]`(id)` |
//! | `executions.get_current_logs(start="0", count=100)` | [`get_current_logs()`]`.start("0").count(100).fetch()` |
//!
//! and adds what the Python SDK leaves to its users: paging through every matching execution
//! ([`ListQuery::pages`], [`ListQuery::iter`]) and reading every log line of an execution with
//! no gap and no duplicate ([`LogReader`]).
//!
//! A platform admin sees every execution of their organisation (all of them if they have
//! none); any other user sees only the executions they started in their organisation. The
//! host decides this from the identity it bound to the instance.
//!
//! Times are [`Timestamp`]s and log entry ids [`StreamId`]s, as the host sends them (WIT
//! records, no text to parse); both show and serialise as the text the reference SDK uses.
//! JSON payloads (input data, result, variables, log metadata) arrive as JSON text and stay
//! so until asked for ([`Json::value`], [`Json::parse`]): a query pays only for the payloads
//! it reads.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

pub use crate::Error;
pub use crate::json::Json;
pub use crate::types::{
    ExecutionStatus, LogLevel, ParseStatusError, ParseStreamIdError, ParseTimestampError, StreamId,
    Timestamp,
};
use crate::wit;

/// One execution, with the fields of the reference SDK's `WorkflowExecution`, and
/// `log_lines_dropped`.
///
/// It serialises with the reference's field names and forms: times as RFC 3339 text in UTC
/// (`2026-04-25T08:30:00.000000Z`), payloads as the JSON they hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowExecution {
    /// The execution's id (a UUID).
    pub execution_id: String,
    /// The workflow that ran.
    pub workflow_name: String,
    /// The organisation the execution belongs to.
    pub org_id: Option<String>,
    /// The form that started the execution, if a form did.
    pub form_id: Option<String>,
    /// User id of whoever started the execution.
    pub executed_by: String,
    /// Display name of whoever started the execution.
    pub executed_by_name: String,
    /// The lifecycle state.
    pub status: ExecutionStatus,
    /// The input parameters (a JSON object).
    pub input_data: Json,
    /// The result, once the execution has one.
    pub result: Option<Json>,
    /// A hint for rendering the result: `json`, `text` or `html`.
    pub result_type: Option<String>,
    /// The error message, if the execution failed.
    pub error_message: Option<String>,
    /// Total duration in milliseconds, once finished.
    pub duration_ms: Option<i64>,
    /// When the execution started.
    pub started_at: Option<Timestamp>,
    /// When the execution ended.
    pub completed_at: Option<Timestamp>,
    /// When the execution was recorded.
    pub created_at: Timestamp,
    /// Captured log entries: filled by [`get`] (at most 1000, oldest first), `None` from
    /// [`list`].
    pub logs: Option<Vec<ExecutionLog>>,
    /// Runtime variables (a JSON object); platform admins only.
    pub variables: Option<Json>,
    /// CLI session id, if started from one.
    pub session_id: Option<String>,
    /// Peak linear memory in bytes; platform admins only.
    pub peak_memory_bytes: Option<i64>,
    /// CPU time spent in the workflow, in seconds; platform admins only.
    pub cpu_total_seconds: Option<f64>,
    /// Log lines the host's log caps counted but did not keep; `None` when every line was
    /// kept, and while the execution runs.
    #[serde(default)]
    pub log_lines_dropped: Option<u64>,
    /// The execution that started this one with [`crate::workflows`]; `None` for one
    /// started from outside.
    #[serde(default)]
    pub parent_execution_id: Option<String>,
}

impl WorkflowExecution {
    /// The result decoded into `T` (a missing result decodes as JSON `null`).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), bifrost::Error> {
    /// let child = bifrost::workflows::execute("count", &serde_json::json!({"n": 3}))?;
    /// let total: u64 = child.result_as()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn result_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        match &self.result {
            Some(json) => json.parse(),
            None => Ok(serde_json::from_value(serde_json::Value::Null)?),
        }
    }

    /// `Ok(self)` when the execution succeeded, otherwise [`Error::ChildFailed`] holding it:
    /// for a child that [`crate::workflows::wait`] returned, the way
    /// [`crate::workflows::execute`] treats one.
    pub fn succeeded(self) -> Result<Self, Error> {
        if self.status == ExecutionStatus::Success {
            Ok(self)
        } else {
            Err(Error::ChildFailed(Box::new(self)))
        }
    }
}

impl From<wit::types::WorkflowExecution> for WorkflowExecution {
    fn from(e: wit::types::WorkflowExecution) -> Self {
        Self {
            execution_id: e.execution_id,
            workflow_name: e.workflow_name,
            org_id: e.org_id,
            form_id: e.form_id,
            executed_by: e.executed_by,
            executed_by_name: e.executed_by_name,
            status: e.status.into(),
            input_data: Json::from_host(e.input_data),
            result: e.result.map(Json::from_host),
            result_type: e.result_type,
            error_message: e.error_message,
            duration_ms: e.duration_ms,
            started_at: e.started_at.map(Into::into),
            completed_at: e.completed_at.map(Into::into),
            created_at: e.created_at.into(),
            logs: e
                .logs
                .map(|logs| logs.into_iter().map(ExecutionLog::from).collect()),
            variables: e.variables.map(Json::from_host),
            session_id: e.session_id,
            peak_memory_bytes: e.peak_memory_bytes,
            cpu_total_seconds: e.cpu_total_seconds,
            log_lines_dropped: e.log_lines_dropped,
            parent_execution_id: e.parent_execution_id,
        }
    }
}

/// One log line of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionLog {
    /// Stream entry id; increases within an execution. Shown and serialised as
    /// `<milliseconds>-<sequence>`.
    pub id: StreamId,
    /// The execution that wrote the line.
    pub execution_id: String,
    /// The severity.
    pub level: LogLevel,
    /// The text.
    pub message: String,
    /// Structured data attached to the line (a JSON object), if any.
    pub metadata: Option<Json>,
    /// When the line was written.
    pub timestamp: Timestamp,
}

impl From<wit::types::ExecutionLog> for ExecutionLog {
    fn from(l: wit::types::ExecutionLog) -> Self {
        Self {
            id: l.id.into(),
            execution_id: l.execution_id,
            level: l.level.into(),
            message: l.message,
            metadata: l.metadata.map(Json::from_host),
            timestamp: l.timestamp.into(),
        }
    }
}

/// Starts a query of executions, newest first; see [`ListQuery`].
///
/// With no filter this lists the caller's most recent 50 executions.
///
/// ```no_run
/// use bifrost::executions::{self, ExecutionStatus};
///
/// # fn main() -> Result<(), bifrost::Error> {
/// let recent = executions::list().limit(10).fetch()?;
/// let failed_today = executions::list()
///     .status(ExecutionStatus::Failed)
///     .start_date("2026-04-25")
///     .fetch()?;
/// # Ok(())
/// # }
/// ```
pub fn list() -> ListQuery {
    ListQuery::default()
}

/// Filters of a query of executions. All given filters must hold.
///
/// Build it with [`list`] and the setters, then run it with [`fetch`](Self::fetch) (one call,
/// at most `limit` executions) or walk every match with [`pages`](Self::pages),
/// [`iter`](Self::iter) or [`fetch_all`](Self::fetch_all). Results are newest first (by
/// `started_at`, then by id, descending).
///
/// Dates are passed to the host as given; the host validates them and answers
/// [`Error::InvalidArgument`] naming `start_date` or `end_date` if one is malformed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    workflow_name: Option<String>,
    status: Option<ExecutionStatus>,
    start_date: Option<String>,
    end_date: Option<String>,
    limit: Option<u32>,
}

impl ListQuery {
    /// Only executions of this workflow.
    pub fn workflow_name(mut self, name: impl Into<String>) -> Self {
        self.workflow_name = Some(name.into());
        self
    }

    /// Only executions in this state. To filter by a status given as text, parse it first:
    /// `.status("Failed".parse()?)` (see [`ExecutionStatus`]'s `FromStr`).
    pub fn status(mut self, status: ExecutionStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only executions that started at or after this ISO-8601 bound: a date (`2026-04-25`,
    /// from its start in UTC) or a date-time (`2026-04-25T08:00:00Z`; with an offset it is
    /// converted to UTC, without one UTC is assumed).
    pub fn start_date(mut self, date: impl Into<String>) -> Self {
        self.start_date = Some(date.into());
        self
    }

    /// Only executions that started at or before this ISO-8601 bound; a date covers that
    /// whole day (UTC).
    pub fn end_date(mut self, date: impl Into<String>) -> Self {
        self.end_date = Some(date.into());
        self
    }

    /// For [`fetch`](Self::fetch), the maximum number of executions (default 50; above 1000
    /// means 1000; 0 is an error). For [`pages`](Self::pages), [`iter`](Self::iter) and
    /// [`fetch_all`](Self::fetch_all), the page size: they return every match regardless.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    fn filter(&self) -> wit::types::ListFilter {
        wit::types::ListFilter {
            workflow_name: self.workflow_name.clone(),
            status: self.status.map(Into::into),
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            limit: self.limit,
        }
    }

    /// Runs the query once: at most `limit` matching executions, newest first.
    pub fn fetch(&self) -> Result<Vec<WorkflowExecution>, Error> {
        let executions = wit::executions::list(&self.filter())?;
        Ok(executions.into_iter().map(Into::into).collect())
    }

    /// Every matching execution, a page (of `limit`, default 50) at a time, newest first.
    ///
    /// The iterator ends after the last page or after the first error, which it yields.
    /// Empty pages are skipped, so a query with no match yields no page.
    pub fn pages(&self) -> Pages {
        Pages {
            filter: self.filter(),
            state: PageState::First,
        }
    }

    /// Every matching execution, newest first, fetching pages as needed (see
    /// [`pages`](Self::pages)). Yields at most one error, then ends.
    pub fn iter(&self) -> Executions {
        Executions {
            pages: self.pages(),
            current: Vec::new().into_iter(),
        }
    }

    /// Every matching execution, newest first, collected from all pages.
    pub fn fetch_all(&self) -> Result<Vec<WorkflowExecution>, Error> {
        let mut all = Vec::new();
        for page in self.pages() {
            all.extend(page?);
        }
        Ok(all)
    }
}

impl IntoIterator for &ListQuery {
    type Item = Result<WorkflowExecution, Error>;
    type IntoIter = Executions;

    fn into_iter(self) -> Executions {
        self.iter()
    }
}

#[derive(Debug)]
enum PageState {
    First,
    Next(String),
    Done,
}

/// Iterator over the pages of a [`ListQuery`]; see [`ListQuery::pages`].
#[derive(Debug)]
pub struct Pages {
    filter: wit::types::ListFilter,
    state: PageState,
}

impl Iterator for Pages {
    type Item = Result<Vec<WorkflowExecution>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let cursor = match std::mem::replace(&mut self.state, PageState::Done) {
                PageState::Done => return None,
                PageState::First => None,
                PageState::Next(cursor) => Some(cursor),
            };
            let page = match wit::executions::list_page(&self.filter, cursor.as_deref()) {
                Ok(page) => page,
                Err(e) => return Some(Err(e.into())),
            };
            match page.next_cursor {
                // A cursor that does not move would page forever.
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    return Some(Err(Error::Internal(
                        "the host returned the same page cursor twice".into(),
                    )));
                }
                Some(next) => self.state = PageState::Next(next),
                None => {}
            }
            if !page.executions.is_empty() {
                return Some(Ok(page.executions.into_iter().map(Into::into).collect()));
            }
        }
    }
}

impl std::iter::FusedIterator for Pages {}

/// Iterator over every execution of a [`ListQuery`]; see [`ListQuery::iter`].
#[derive(Debug)]
pub struct Executions {
    pages: Pages,
    current: std::vec::IntoIter<WorkflowExecution>,
}

impl Iterator for Executions {
    type Item = Result<WorkflowExecution, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(execution) = self.current.next() {
                return Some(Ok(execution));
            }
            match self.pages.next()? {
                Ok(page) => self.current = page.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl std::iter::FusedIterator for Executions {}

/// One execution by id, with its captured log entries (at most 1000, oldest first).
///
/// Fails with [`Error::NotFound`] if there is no such execution and with
/// [`Error::PermissionDenied`] if the caller may not see it.
///
/// ```no_run
/// # fn main() -> Result<(), bifrost::Error> {
/// let detail = bifrost::executions::get("0190a6f0-7c1e-7b3a-9d2e-5f4c3b2a1908")?;
/// println!("{} {:?}", detail.status, detail.duration_ms);
/// # Ok(())
/// # }
/// ```
pub fn get(execution_id: &str) -> Result<WorkflowExecution, Error> {
    Ok(wit::executions::get(execution_id)?.into())
}

/// Starts a read of an execution's log entries, oldest first; see [`LogsQuery`].
///
/// By default it reads the current execution's first 100 entries. This works the same while
/// the execution runs (live stream) and after it ended.
///
/// ```no_run
/// # fn main() -> Result<(), bifrost::Error> {
/// for entry in bifrost::executions::get_current_logs().fetch()? {
///     println!("[{}] {}", entry.level, entry.message);
/// }
/// # Ok(())
/// # }
/// ```
pub fn get_current_logs() -> LogsQuery {
    LogsQuery::default()
}

/// Reads every log entry of an execution (`None`: the current one), oldest first; shorthand
/// for `get_current_logs().execution_id(..).reader()`. See [`LogReader`].
pub fn log_reader(execution_id: Option<&str>) -> LogReader {
    let query = get_current_logs();
    match execution_id {
        Some(id) => query.execution_id(id),
        None => query,
    }
    .reader()
}

/// Parameters of a read of log entries; see [`get_current_logs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsQuery {
    execution_id: Option<String>,
    start: Option<Start>,
    count: Option<u32>,
}

/// Where a log read starts, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Start {
    /// Text, checked when the read runs (as the host checked it in 0.1.0).
    Text(String),
    Id(StreamId),
}

impl Start {
    /// The start as the host takes it; text that is not a start is
    /// [`Error::InvalidArgument`] naming `start`, in the host's words.
    fn resolve(start: Option<&Start>) -> Result<Option<StreamId>, Error> {
        match start {
            None => Ok(None),
            Some(Start::Id(id)) => Ok(Some(*id)),
            Some(Start::Text(text)) => {
                StreamId::parse_start(text)
                    .map(Some)
                    .map_err(|e| Error::InvalidArgument {
                        parameter: "start".into(),
                        reason: e.to_string(),
                    })
            }
        }
    }
}

impl LogsQuery {
    /// Read this execution's log instead of the current one. Without it, a workflow running
    /// outside an execution gets [`Error::NoExecutionContext`].
    pub fn execution_id(mut self, id: impl Into<String>) -> Self {
        self.execution_id = Some(id.into());
        self
    }

    /// Start at this entry id, inclusive, given as text as in the reference SDK: a stream id
    /// `<ms>-<seq>`, `<ms>`, or `0` / `-` for the beginning (the default). Text that is none
    /// of these makes the read fail with [`Error::InvalidArgument`] naming `start`.
    pub fn start(mut self, start: impl Into<String>) -> Self {
        self.start = Some(Start::Text(start.into()));
        self
    }

    /// Start at this entry id, inclusive. To read on after an entry, pass its id's
    /// [`successor`](StreamId::successor).
    pub fn start_at(mut self, start: StreamId) -> Self {
        self.start = Some(Start::Id(start));
        self
    }

    /// Read at most this many entries (default 100, at most 1000; 0 is an error). For
    /// [`reader`](Self::reader), the page size.
    pub fn count(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }

    /// Reads one batch: at most `count` entries from `start`, oldest first.
    pub fn fetch(&self) -> Result<Vec<ExecutionLog>, Error> {
        let start = Start::resolve(self.start.as_ref())?.map(Into::into);
        let logs =
            wit::executions::get_current_logs(self.execution_id.as_deref(), start, self.count)?;
        Ok(logs.into_iter().map(Into::into).collect())
    }

    /// An iterator over every entry from `start` on, reading `count` entries (capped at 1000)
    /// per call; see [`LogReader`].
    pub fn reader(self) -> LogReader {
        LogReader {
            execution_id: self.execution_id,
            next_start: self.start,
            count: self.count.map(|count| count.min(MAX_LOG_COUNT)),
            last: None,
            buffer: VecDeque::new(),
            state: ReaderState::Open,
        }
    }
}

use bifrost_types::MAX_LOG_COUNT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReaderState {
    /// More entries may follow: read the next page when the buffer is empty.
    Open,
    /// The last read came back empty or failed: end this pass.
    Paused,
    /// The last entry had the greatest possible id: nothing can follow.
    Finished,
}

/// Iterator over every log entry of an execution, oldest first, with no gap and no duplicate.
///
/// It reads a page at a time; each page starts at the [successor](StreamId::successor) of the
/// last entry id seen (entry ids are inclusive starts), and entries at or before the last one
/// seen are dropped should the host repeat them.
///
/// The iteration ends (returns `None`) when a read comes back empty, or after yielding an
/// error. The reader is not fused: calling [`next`](Iterator::next) again afterwards reads on
/// from where it stopped, which picks up lines a running execution wrote since (or retries
/// after an error).
///
/// Because it follows the live stream, a loop that reads the *current* execution's log must
/// not log once per entry it reads: every line it writes would be read in turn, and the loop
/// would never end.
///
/// ```no_run
/// # fn main() -> Result<(), bifrost::Error> {
/// let mut lines = 0;
/// for entry in bifrost::executions::log_reader(None) {
///     let entry = entry?;
///     lines += 1;
///     println!("{} [{}] {}", entry.id, entry.level, entry.message);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LogReader {
    execution_id: Option<String>,
    /// Where the next read starts (inclusive); `None`: the beginning.
    next_start: Option<Start>,
    count: Option<u32>,
    /// The greatest entry id yielded so far.
    last: Option<StreamId>,
    buffer: VecDeque<ExecutionLog>,
    state: ReaderState,
}

impl LogReader {
    /// The id of the last entry read so far, if any.
    pub fn last_id(&self) -> Option<StreamId> {
        self.last
    }

    /// Reads the next page and queues its new entries. `Ok(false)`: the page had none.
    fn read_page(&mut self) -> Result<bool, Error> {
        let start = Start::resolve(self.next_start.as_ref())?.map(Into::into);
        let page =
            wit::executions::get_current_logs(self.execution_id.as_deref(), start, self.count)?;
        let mut queued = false;
        for entry in page {
            let entry = ExecutionLog::from(entry);
            if self.last.is_some_and(|last| entry.id <= last) {
                continue;
            }
            self.last = Some(entry.id);
            self.buffer.push_back(entry);
            queued = true;
        }
        if let Some(last) = self.last {
            match last.successor() {
                Some(next) => self.next_start = Some(Start::Id(next)),
                None => self.state = ReaderState::Finished,
            }
        }
        Ok(queued)
    }
}

impl Iterator for LogReader {
    type Item = Result<ExecutionLog, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entry) = self.buffer.pop_front() {
            return Some(Ok(entry));
        }
        match self.state {
            ReaderState::Finished => return None,
            ReaderState::Paused => {
                // End this pass; the next call reads on.
                self.state = ReaderState::Open;
                return None;
            }
            ReaderState::Open => {}
        }
        match self.read_page() {
            Ok(true) => self.buffer.pop_front().map(Ok),
            Ok(false) => None,
            Err(e) => {
                self.state = ReaderState::Paused;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn list_query_builds_the_filter() {
        let query = list()
            .workflow_name("nightly")
            .status(ExecutionStatus::CompletedWithErrors)
            .start_date("2026-04-25")
            .end_date("2026-04-26T00:00:00Z")
            .limit(10);
        let filter = query.filter();
        assert_eq!(filter.workflow_name.as_deref(), Some("nightly"));
        assert_eq!(
            filter.status,
            Some(wit::types::ExecutionStatus::CompletedWithErrors)
        );
        assert_eq!(filter.start_date.as_deref(), Some("2026-04-25"));
        assert_eq!(filter.end_date.as_deref(), Some("2026-04-26T00:00:00Z"));
        assert_eq!(filter.limit, Some(10));

        let empty = list().filter();
        assert_eq!(empty.workflow_name, None);
        assert_eq!(empty.status, None);
        assert_eq!(empty.limit, None);
    }

    #[test]
    fn log_reader_caps_the_page_size() {
        let reader = get_current_logs().count(5000).reader();
        assert_eq!(reader.count, Some(MAX_LOG_COUNT));
        let reader = get_current_logs().execution_id("e").start("5-1").reader();
        assert_eq!(reader.count, None);
        assert_eq!(reader.next_start, Some(Start::Text("5-1".into())));
        assert_eq!(reader.execution_id.as_deref(), Some("e"));
    }

    #[test]
    fn a_text_start_is_checked_with_the_hosts_rules_and_words() {
        let resolve = |s: &str| Start::resolve(Some(&Start::Text(s.into())));
        assert_eq!(resolve("5-1").unwrap(), Some(id(5, 1)));
        assert_eq!(resolve(" 7 ").unwrap(), Some(id(7, 0)));
        assert_eq!(resolve("-").unwrap(), Some(StreamId::MIN));
        assert_eq!(resolve("0").unwrap(), Some(StreamId::MIN));
        assert_eq!(
            Start::resolve(Some(&Start::Id(id(3, 4)))).unwrap(),
            Some(id(3, 4))
        );
        assert_eq!(Start::resolve(None).unwrap(), None);
        match resolve("soon") {
            Err(Error::InvalidArgument { parameter, reason }) => {
                assert_eq!(parameter, "start");
                assert_eq!(
                    reason,
                    StreamId::parse_start("soon").unwrap_err().to_string()
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn datetime(seconds: i64) -> wit::types::Datetime {
        wit::types::Datetime {
            seconds,
            nanoseconds: 0,
        }
    }

    fn wit_log(sequence: u64, metadata: Option<&str>) -> wit::types::ExecutionLog {
        wit::types::ExecutionLog {
            id: wit::types::StreamId {
                milliseconds: 5,
                sequence,
            },
            execution_id: "e1".into(),
            level: wit::types::LogLevel::Warning,
            message: "careful".into(),
            metadata: metadata.map(Into::into),
            timestamp: datetime(1_777_104_000),
        }
    }

    #[test]
    fn converts_log_entries() {
        let entry = ExecutionLog::from(wit_log(1, Some(r#"{"k":[1,2]}"#)));
        assert_eq!(entry.level, LogLevel::Warning);
        assert_eq!(entry.metadata.as_ref().unwrap().as_str(), r#"{"k":[1,2]}"#);
        assert_eq!(
            entry.metadata.as_ref().unwrap().value(),
            json!({"k": [1, 2]})
        );
        assert_eq!(entry.id, id(5, 1));
        assert_eq!(entry.timestamp.to_string(), "2026-04-25T08:00:00.000000Z");
        let entry = ExecutionLog::from(wit_log(2, Some("{oops")));
        assert_eq!(entry.metadata.unwrap().value(), json!("{oops"));
        assert_eq!(ExecutionLog::from(wit_log(3, None)).metadata, None);
    }

    #[test]
    fn converts_executions() {
        let wit_execution = wit::types::WorkflowExecution {
            execution_id: "e1".into(),
            workflow_name: "nightly".into(),
            org_id: Some("o1".into()),
            form_id: None,
            executed_by: "u1".into(),
            executed_by_name: "Ada".into(),
            status: wit::types::ExecutionStatus::Failed,
            input_data: r#"{"n":1}"#.into(),
            result: Some("not json".into()),
            result_type: Some("text".into()),
            error_message: Some("boom".into()),
            duration_ms: Some(1200),
            started_at: Some(datetime(1_777_104_000)),
            completed_at: Some(wit::types::Datetime {
                seconds: 1_777_104_001,
                nanoseconds: 200_000_000,
            }),
            created_at: datetime(1_777_103_999),
            logs: Some(vec![wit_log(0, None)]),
            variables: Some(r#"{"x":true}"#.into()),
            session_id: None,
            peak_memory_bytes: Some(65536),
            cpu_total_seconds: Some(0.5),
            log_lines_dropped: Some(7),
            parent_execution_id: Some("p1".into()),
        };
        let execution = WorkflowExecution::from(wit_execution);
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.input_data, json!({"n": 1}));
        assert_eq!(
            execution.result.as_ref().unwrap().value(),
            json!("not json")
        );
        assert_eq!(
            execution.variables.as_ref().unwrap().value(),
            json!({"x": true})
        );
        assert_eq!(execution.logs.as_ref().map(Vec::len), Some(1));
        assert_eq!(execution.duration_ms, Some(1200));
        assert_eq!(execution.cpu_total_seconds, Some(0.5));
        assert_eq!(execution.log_lines_dropped, Some(7));
        assert_eq!(execution.parent_execution_id.as_deref(), Some("p1"));
        assert_eq!(
            execution
                .completed_at
                .unwrap()
                .duration_since(execution.started_at.unwrap()),
            Some(std::time::Duration::from_millis(1200))
        );

        // Serialises with the reference SDK's field names, status names and text forms.
        let value = serde_json::to_value(&execution).unwrap();
        assert_eq!(value["status"], json!("Failed"));
        assert_eq!(value["executed_by_name"], json!("Ada"));
        assert_eq!(value["input_data"], json!({"n": 1}));
        assert_eq!(value["created_at"], json!("2026-04-25T07:59:59.000000Z"));
        assert_eq!(value["completed_at"], json!("2026-04-25T08:00:01.200000Z"));
        assert_eq!(value["logs"][0]["level"], json!("WARNING"));
        assert_eq!(value["logs"][0]["id"], json!("5-0"));
        let back: WorkflowExecution = serde_json::from_value(value).unwrap();
        assert_eq!(back.created_at, execution.created_at);
        assert_eq!(back.input_data.value(), execution.input_data.value());
        assert_eq!(back.logs, execution.logs);
    }
}
