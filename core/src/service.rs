//! The executions module's behaviour over a store and a log stream: visibility, validation,
//! paging, and reading logs before and after they move to the store. The host functions and
//! the CLI both call it, so they answer alike.

use std::sync::Arc;

use uuid::Uuid;

use crate::error::{ApiError, StoreError};
use crate::identity::Identity;
use crate::limits::Limits;
use crate::logs::LogStream;
use crate::model::{Execution, ExecutionStatus, LogEntry, LogMetadata, StreamId};
use crate::query::{Cursor, ListFilter, LogRange, MAX_LOG_COUNT, parse_execution_id};
use crate::storable::storable_text;
use crate::store::{ExecutionReader, ExecutionStore, LeaseKeeper, LogArchive, RunRecorder};
use crate::values::{VariableSizes, parse_variable};

/// Entries moved from the stream to the store per round trip at the end of a run.
const MOVE_BATCH: u32 = 5000;

/// Executions and logs behind one interface, whichever backends hold them.
#[derive(Clone)]
pub struct ExecutionsService {
    reader: Arc<dyn ExecutionReader>,
    recorder: Arc<dyn RunRecorder>,
    leases: Arc<dyn LeaseKeeper>,
    archive: Arc<dyn LogArchive>,
    logs: Arc<dyn LogStream>,
}

impl std::fmt::Debug for ExecutionsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionsService").finish_non_exhaustive()
    }
}

/// One page of executions and the cursor of the next.
#[derive(Debug, Clone)]
pub struct ExecutionPage {
    /// The executions, newest first.
    pub executions: Vec<Execution>,
    /// The position after the last one; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl ExecutionsService {
    /// A service over a store (every role of it) and a log stream.
    pub fn new(store: Arc<dyn ExecutionStore>, logs: Arc<dyn LogStream>) -> Self {
        Self {
            reader: store.clone(),
            recorder: store.clone(),
            leases: store.clone(),
            archive: store,
            logs,
        }
    }

    /// The same service with runs recorded through `recorder` (a wrapper of the store's
    /// own, say); the other roles are unchanged.
    pub fn with_recorder(mut self, recorder: Arc<dyn RunRecorder>) -> Self {
        self.recorder = recorder;
        self
    }

    /// The same service with moved log entries kept through `archive`; the other roles
    /// are unchanged.
    pub fn with_log_archive(mut self, archive: Arc<dyn LogArchive>) -> Self {
        self.archive = archive;
        self
    }

    /// Where executions are read from.
    pub fn reader(&self) -> &Arc<dyn ExecutionReader> {
        &self.reader
    }

    /// Where runs are recorded.
    pub fn recorder(&self) -> &Arc<dyn RunRecorder> {
        &self.recorder
    }

    /// Where leases are renewed and swept.
    pub fn leases(&self) -> &Arc<dyn LeaseKeeper> {
        &self.leases
    }

    /// Where log entries moved from a live stream are kept.
    pub fn log_archive(&self) -> &Arc<dyn LogArchive> {
        &self.archive
    }

    /// The log stream.
    pub fn log_stream(&self) -> &Arc<dyn LogStream> {
        &self.logs
    }

    /// Executions visible to `who` matching `filter`, newest first.
    pub async fn list(
        &self,
        who: &Identity,
        filter: &ListFilter,
    ) -> Result<Vec<Execution>, ApiError> {
        let query = filter.validate(None)?;
        let rows = self
            .reader
            .list(&who.scope(), &query, who.is_platform_admin)
            .await?;
        Ok(rows
            .into_iter()
            .map(|e| e.redact_for(who.is_platform_admin))
            .collect())
    }

    /// One page of `list`, continuing after `cursor`.
    pub async fn list_page(
        &self,
        who: &Identity,
        filter: &ListFilter,
        cursor: Option<&str>,
    ) -> Result<ExecutionPage, ApiError> {
        let mut query = filter.validate(cursor)?;
        let page_size = query.limit as usize;
        // One row more than the page tells whether another page exists, so the last page
        // never hands out a cursor to an empty one.
        query.limit += 1;
        let mut rows = self
            .reader
            .list(&who.scope(), &query, who.is_platform_admin)
            .await?;
        let next_cursor = if rows.len() > page_size {
            rows.truncate(page_size);
            rows.last().map(|last| {
                Cursor::after(last.started_at.unwrap_or(last.created_at), last.id).encode()
            })
        } else {
            None
        };
        Ok(ExecutionPage {
            executions: rows
                .into_iter()
                .map(|e| e.redact_for(who.is_platform_admin))
                .collect(),
            next_cursor,
        })
    }

    /// The execution `id` if `who` may see it, with its persisted logs once it has ended.
    pub async fn get(&self, who: &Identity, id: &str) -> Result<Execution, ApiError> {
        let id = parse_execution_id(id)?;
        let mut execution = self.visible(who, id).await?;
        if execution.status.is_final() {
            execution.logs = Some(
                self.reader
                    .read_logs(id, StreamId::MIN, MAX_LOG_COUNT)
                    .await?,
            );
        }
        Ok(execution.redact_for(who.is_platform_admin))
    }

    /// Checks that execution `id` exists and `who` may see it.
    async fn visible(&self, who: &Identity, id: Uuid) -> Result<Execution, ApiError> {
        // Variables are read only for those who may see them.
        let execution =
            self.reader
                .fetch(id, who.is_platform_admin)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => ApiError::NotFound(id.to_string()),
                    other => other.into(),
                })?;
        if !who.can_view(execution.executed_by, execution.organization_id) {
            return Err(ApiError::PermissionDenied(id.to_string()));
        }
        Ok(execution)
    }

    /// Sets runtime variable `name` of execution `execution_id` (the caller's own running
    /// execution: no visibility check) to the JSON text `value`, within `limits`, and the
    /// total cap counted in `sizes` (the caller's record of what it has set). Writes that
    /// variable alone.
    pub async fn set_variable(
        &self,
        execution_id: Uuid,
        name: &str,
        value: &str,
        sizes: &mut VariableSizes,
        limits: &Limits,
    ) -> Result<(), ApiError> {
        let (name, parsed) = parse_variable(name, value, limits)?;
        let size = sizes.check(&name, value.len(), limits)?;
        self.recorder
            .set_variable(execution_id, &name, &parsed)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::NotFound(execution_id.to_string()),
                other => other.into(),
            })?;
        sizes.record(&name, size);
        Ok(())
    }

    /// Log entries of an execution.
    ///
    /// `execution_id` `None` means `current`, the caller's own running execution, which needs
    /// no check; an explicit id goes through the visibility rule like `get`.
    pub async fn logs(
        &self,
        who: &Identity,
        current: Option<Uuid>,
        execution_id: Option<&str>,
        start: Option<&str>,
        count: Option<u32>,
    ) -> Result<Vec<LogEntry>, ApiError> {
        let range = LogRange::validate(start, count)?;
        self.logs_in(who, current, execution_id, range).await
    }

    /// [`logs`](Self::logs) with the range already validated (e.g. given as a typed
    /// [`StreamId`] by the 0.2.0 interface: [`LogRange::from_id`]).
    pub async fn logs_in(
        &self,
        who: &Identity,
        current: Option<Uuid>,
        execution_id: Option<&str>,
        range: LogRange,
    ) -> Result<Vec<LogEntry>, ApiError> {
        let (id, status) = match execution_id {
            Some(s) => {
                let id = parse_execution_id(s)?;
                if Some(id) == current {
                    (id, ExecutionStatus::Running)
                } else {
                    (id, self.visible(who, id).await?.status)
                }
            }
            // The caller's own execution runs while it asks.
            None => (
                current.ok_or(ApiError::NoExecutionContext)?,
                ExecutionStatus::Running,
            ),
        };
        self.read_logs(id, status, range).await
    }

    /// Log entries of `id` in `range`, for an execution last seen with `status`.
    ///
    /// Once the status is final the store holds every entry (it is written with the logs),
    /// and they are read from there: the live stream may lag behind it or be gone. Before
    /// that they are read from the live stream, or from the store when the stream has none
    /// (it was moved meanwhile: the move writes every entry to the store before it deletes
    /// the stream).
    pub async fn read_logs(
        &self,
        id: Uuid,
        status: ExecutionStatus,
        range: LogRange,
    ) -> Result<Vec<LogEntry>, ApiError> {
        if !status.is_final() {
            let live = self.logs.read(id, range.start, range.count).await?;
            if !live.is_empty() {
                return Ok(live);
            }
        }
        Ok(self.reader.read_logs(id, range.start, range.count).await?)
    }

    /// The last `count` log entries of `id` (oldest first), for an execution last seen
    /// with `status`: from the live stream while it runs (the store when it has been
    /// moved), as [`read_logs`](Self::read_logs) chooses.
    pub async fn tail_logs(
        &self,
        id: Uuid,
        status: ExecutionStatus,
        count: u32,
    ) -> Result<Vec<LogEntry>, ApiError> {
        if !status.is_final() {
            let live = self.logs.read_last(id, count).await?;
            if !live.is_empty() {
                return Ok(live);
            }
        }
        Ok(self.reader.read_last_logs(id, count).await?)
    }

    /// Moves an execution's log stream into the store and deletes the stream. Safe to
    /// repeat: entries already stored are kept once. Entries that another writer put in
    /// the stream with U+0000 are stored with U+FFFD, as the host writes them
    /// ([`storable_text`]).
    pub async fn move_logs(&self, id: Uuid) -> Result<usize, ApiError> {
        let mut start = StreamId::MIN;
        let mut moved = 0;
        loop {
            let mut batch = self.logs.read(id, start, MOVE_BATCH).await?;
            let Some(last) = batch.last() else { break };
            let next = last.id.successor();
            for e in &mut batch {
                e.message = storable_text(std::mem::take(&mut e.message));
                e.metadata = e.metadata.take().map(LogMetadata::storable);
            }
            self.archive.insert_logs(&batch).await?;
            moved += batch.len();
            match next {
                Some(next) if batch.len() == MOVE_BATCH as usize => start = next,
                _ => break,
            }
        }
        self.logs.delete(id).await?;
        Ok(moved)
    }

    /// Marks `Stuck` the executions whose runner went away (left `Running` with their lease
    /// run out), after moving what their live log streams hold into the store (so that, as
    /// for a finished run, a final status means the logs are stored). Returns their ids.
    /// Lines the stopped runner never wrote to the stream went with it.
    ///
    /// Each execution is first claimed (its lease taken over for `lease`), so that
    /// concurrent sweeps never move the same log twice, and a sweep that dies half-way is
    /// taken over by the next one once that lease has run out.
    pub async fn sweep_stuck(&self, lease: std::time::Duration) -> Result<Vec<Uuid>, ApiError> {
        let lease = chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::MAX);
        let mut stuck = Vec::new();
        for id in self.leases.abandoned(chrono::Utc::now()).await? {
            let now = chrono::Utc::now();
            let until = now.checked_add_signed(lease).unwrap_or(now);
            if !self.leases.claim_abandoned(id, now, until).await? {
                continue;
            }
            let message = match self.move_logs(id).await {
                Ok(n) => format!(
                    "the runner stopped before the execution ended; marked Stuck once its lease ran out ({n} log lines moved from the live stream)"
                ),
                Err(e) => format!(
                    "the runner stopped before the execution ended; marked Stuck once its lease ran out (its live log could not be moved: {e})"
                ),
            };
            if self
                .leases
                .mark_stuck(id, chrono::Utc::now(), &message)
                .await?
            {
                stuck.push(id);
            }
        }
        Ok(stuck)
    }
}
