//! Per-execution log writer: collects lines from the guest (log import, stdout, stderr),
//! gives them stream ids, keeps them for the store, and appends them to the live stream in
//! batches, one pipelined round trip per batch.
//!
//! A log call only queues the line. A background task takes every line queued since its
//! last write and appends them together, so under load batches grow by themselves and an
//! idle execution's line is written at once.
//!
//! When the run is over, [`LogWriterTask::close`] hands the whole log over at once, for
//! the store, while the writer appends what the stream still lacks: the runner stores the
//! log and the final status and brings the stream up to date side by side, not one after
//! the other.
//!
//! Nothing is lost when the stream server goes away: the writer keeps every line it
//! accepted (within the execution's log caps), and the runner stores them from that copy
//! at the end of the run. While the stream is unreachable the writer retries; when it is
//! back, it asks for the stream's last id and appends everything after it, so a restarted,
//! empty server gets the whole log again, in order, each line once (ids are the writer's,
//! and a stream refuses an id that is not after its last).

use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use bifrost_core::ApiError;
use bifrost_core::limits::Limits;
use bifrost_core::logs::LogStream;
use bifrost_core::model::{LogEntry, LogLevel, LogLine, LogMetadata, StreamId};
use std::sync::{Arc, Mutex};

/// Most lines in one pipelined append.
const MAX_BATCH: usize = 1000;
/// After the run, how long the writer keeps trying to bring an unreachable live stream up
/// to date before it leaves the lines to the store alone.
const STREAM_RETRY_AFTER_RUN: Duration = Duration::from_secs(10);
/// First pause after a failed append, and the ceiling of the pauses while the stream stays
/// unreachable ([`bifrost_core::backoff::waits`]: each is stretched by up to its own length,
/// so that writers that failed together retry apart).
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

enum Command {
    Line(LogLine),
    Flush(oneshot::Sender<Result<(), ApiError>>),
}

/// Queues an execution's log lines. Cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    tx: mpsc::UnboundedSender<Command>,
    caps: Arc<Mutex<Caps>>,
}

/// The log caps of one execution, counted where lines are written: a line past them is
/// counted and dropped at once, never queued, so what the writer holds (queued and kept)
/// is bounded by the caps whatever the guest sends, and however slow the stream is.
#[derive(Debug)]
struct Caps {
    max_lines: u64,
    max_bytes: u64,
    kept_lines: u64,
    kept_bytes: u64,
    dropped_lines: u64,
    dropped_bytes: u64,
}

impl Caps {
    /// Whether a line of `size` bytes is kept; counts it either way.
    fn admit(&mut self, size: u64) -> bool {
        if self.kept_lines >= self.max_lines || self.kept_bytes + size > self.max_bytes {
            self.dropped_lines += 1;
            self.dropped_bytes += size;
            return false;
        }
        self.kept_lines += 1;
        self.kept_bytes += size;
        true
    }
}

/// The task behind a [`LogWriter`]; [`close`](Self::close) or [`finish`](Self::finish) it
/// after the last line.
pub struct LogWriterTask {
    closed: oneshot::Receiver<ClosedLog>,
    catch_up: StreamCatchUp,
}

/// An execution's whole log, handed over as soon as its last [`LogWriter`] is gone (some
/// of it may not be in the live stream yet: [`StreamCatchUp`]).
#[derive(Debug, Default)]
pub struct ClosedLog {
    /// Every line kept, with its id, in order: what the store must hold. Shared with the
    /// writer until it has appended the last of them to the stream.
    pub entries: Arc<Vec<LogEntry>>,
    /// Lines not kept because the execution's log caps were reached.
    pub dropped_lines: u64,
    /// Bytes of those lines.
    pub dropped_bytes: u64,
}

impl ClosedLog {
    /// The entries, taken out of their `Arc`: no copy once the writer has let go of them
    /// (after [`StreamCatchUp::finish`]), a copy otherwise.
    pub fn into_entries(self) -> Vec<LogEntry> {
        Arc::try_unwrap(self.entries).unwrap_or_else(|shared| (*shared).clone())
    }
}

/// The writer's appends to the live stream after the log closed.
pub struct StreamCatchUp {
    handle: JoinHandle<usize>,
    execution_id: Uuid,
}

/// What a writer kept and what it did not.
#[derive(Debug, Default)]
pub struct WriterOutcome {
    /// Every line kept, with its id, in order: what the store must hold.
    pub entries: Vec<LogEntry>,
    /// Lines not kept because the execution's log caps were reached.
    pub dropped_lines: u64,
    /// Bytes of those lines.
    pub dropped_bytes: u64,
    /// Lines that never reached the live stream (it stayed unreachable); they are in
    /// `entries` all the same.
    pub not_streamed: usize,
}

impl LogWriter {
    /// Starts a writer for `execution_id` on the current tokio runtime.
    pub fn spawn(
        stream: Arc<dyn LogStream>,
        execution_id: Uuid,
        limits: &Limits,
    ) -> (LogWriter, LogWriterTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (closed_tx, closed) = oneshot::channel();
        let caps = Arc::new(Mutex::new(Caps {
            max_lines: limits.max_log_lines,
            max_bytes: limits.max_log_bytes,
            kept_lines: 0,
            kept_bytes: 0,
            dropped_lines: 0,
            dropped_bytes: 0,
        }));
        let state = Writer {
            stream,
            execution_id,
            caps: caps.clone(),
            last_id: None,
            log: ClosedLog::default(),
            sent: 0,
            hand_over: Some(closed_tx),
        };
        let handle = tokio::spawn(state.run(rx));
        (
            LogWriter { tx, caps },
            LogWriterTask {
                closed,
                catch_up: StreamCatchUp {
                    handle,
                    execution_id,
                },
            },
        )
    }

    /// Queues one line, or counts it as dropped when the execution's log caps are
    /// reached. Returns at once; the line is written in order with the others.
    pub fn write(&self, line: LogLine) {
        let size = (line.message.len() + line.metadata.as_ref().map_or(0, LogMetadata::len)) as u64;
        let admitted = match self.caps.lock() {
            Ok(mut caps) => caps.admit(size),
            Err(_) => false,
        };
        if admitted {
            // The task outlives every writer; a closed channel means the run is over and
            // there is nobody left to read the line.
            let _ = self.tx.send(Command::Line(line));
        }
    }

    /// Waits until every line queued before this call is in the live stream; an error if
    /// the stream cannot be reached now (the lines stay queued and are retried).
    pub async fn flush(&self) -> Result<(), ApiError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Flush(done))
            .map_err(|_| ApiError::Internal("log writer stopped".into()))?;
        wait.await
            .map_err(|_| ApiError::Internal("log writer stopped".into()))?
    }
}

impl LogWriterTask {
    /// Waits until every [`LogWriter`] clone has been dropped and the writer has taken
    /// every queued line, and returns the whole log at once, with the appends to the live
    /// stream still under way.
    pub async fn close(self) -> (ClosedLog, StreamCatchUp) {
        // An empty log only if the writer's task failed without handing it over (a bug);
        // `StreamCatchUp::finish` logs that failure.
        let log = self.closed.await.unwrap_or_default();
        (log, self.catch_up)
    }

    /// [`close`](Self::close), then waits for the live stream to hold the whole log (or
    /// for the writer to give up on an unreachable stream).
    pub async fn finish(self) -> WriterOutcome {
        let (log, catch_up) = self.close().await;
        let not_streamed = catch_up.finish().await;
        WriterOutcome {
            dropped_lines: log.dropped_lines,
            dropped_bytes: log.dropped_bytes,
            entries: log.into_entries(),
            not_streamed,
        }
    }
}

impl StreamCatchUp {
    /// Waits until the live stream holds the whole log, or until the writer gave up on an
    /// unreachable stream ([`STREAM_RETRY_AFTER_RUN`] after the run); returns how many
    /// lines never reached the stream (they are in the [`ClosedLog`] all the same).
    pub async fn finish(self) -> usize {
        match self.handle.await {
            Ok(not_streamed) => not_streamed,
            Err(e) => {
                // Only a bug in the writer gets here; the run's record says so.
                tracing::error!(execution_id = %self.execution_id, error = %e, "log writer task failed");
                0
            }
        }
    }
}

/// The id after `last` at wall-clock time `now_ms`, as Redis assigns ids: the current
/// millisecond with sequence 0, or, when the clock has not moved past the last id, the
/// last id's millisecond with the next sequence.
fn next_id(last: Option<StreamId>, now_ms: u64) -> StreamId {
    match last {
        Some(last) if now_ms <= last.ms => last.successor().unwrap_or(last),
        _ => StreamId { ms: now_ms, seq: 0 },
    }
}

struct Writer {
    stream: Arc<dyn LogStream>,
    execution_id: Uuid,
    caps: Arc<Mutex<Caps>>,
    last_id: Option<StreamId>,
    /// The log so far; its entries are shared once handed over.
    log: ClosedLog,
    /// `log.entries[..sent]` are in the live stream.
    sent: usize,
    /// Where the log goes once the last writer is gone.
    hand_over: Option<oneshot::Sender<ClosedLog>>,
}

impl Writer {
    fn push(&mut self, line: LogLine) {
        let id = next_id(self.last_id, Utc::now().timestamp_millis().max(0) as u64);
        self.last_id = Some(id);
        // Not shared before the hand-over, after which nothing is pushed: never a copy.
        Arc::make_mut(&mut self.log.entries).push(LogEntry {
            id,
            execution_id: self.execution_id,
            level: line.level,
            message: line.message,
            metadata: line.metadata,
            // Stores keep microseconds: the entry is what they will give back.
            timestamp: line.timestamp.trunc_subsecs(6),
        });
    }

    /// The line that ends a log whose caps were reached (kept beyond the caps: it is the
    /// record of what was not kept). Called once every writer is gone.
    fn push_limit_notice(&mut self) {
        let Ok(caps) = self.caps.lock() else { return };
        let (lines, bytes) = (caps.dropped_lines, caps.dropped_bytes);
        let (max_lines, max_bytes) = (caps.max_lines, caps.max_bytes);
        drop(caps);
        self.log.dropped_lines = lines;
        self.log.dropped_bytes = bytes;
        if lines == 0 {
            return;
        }
        self.push(LogLine {
            level: LogLevel::Warning,
            message: format!(
                "log limit reached ({max_lines} lines, {max_bytes} bytes per execution): {lines} later lines ({bytes} bytes) were not kept"
            ),
            metadata: Some(LogMetadata::from_value(&serde_json::json!({
                "dropped_lines": lines,
                "dropped_bytes": bytes,
            }))),
            timestamp: Utc::now(),
        });
    }

    /// Takes lines until the last writer is gone, then hands the log over; appends to the
    /// live stream throughout. Returns how many lines never reached the stream.
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) -> usize {
        let mut waiting: Vec<oneshot::Sender<Result<(), ApiError>>> = Vec::new();
        let mut closed = false;
        let mut failing_since: Option<Instant> = None;
        let mut waits = bifrost_core::backoff::waits(FIRST_BACKOFF, MAX_BACKOFF);
        loop {
            // Take what is queued; wait for more only when nothing is pending.
            if !closed {
                if self.sent == self.log.entries.len() && waiting.is_empty() {
                    match rx.recv().await {
                        Some(cmd) => self.take(cmd, &mut waiting),
                        None => closed = true,
                    }
                }
                loop {
                    match rx.try_recv() {
                        Ok(cmd) => self.take(cmd, &mut waiting),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                    if self.log.entries.len() - self.sent >= MAX_BATCH {
                        break;
                    }
                }
                if closed {
                    self.push_limit_notice();
                    if let Some(hand_over) = self.hand_over.take() {
                        let _ = hand_over.send(ClosedLog {
                            entries: self.log.entries.clone(),
                            dropped_lines: self.log.dropped_lines,
                            dropped_bytes: self.log.dropped_bytes,
                        });
                    }
                }
            }

            if self.sent < self.log.entries.len() {
                match self.send_batch(failing_since.is_some()).await {
                    Ok(()) => {
                        if failing_since.take().is_some() {
                            waits = bifrost_core::backoff::waits(FIRST_BACKOFF, MAX_BACKOFF);
                        }
                    }
                    Err(e) => {
                        let since = *failing_since.get_or_insert_with(Instant::now);
                        tracing::warn!(execution_id = %self.execution_id, error = %e, "log stream append failed; retrying");
                        for done in waiting.drain(..) {
                            let _ = done.send(Err(e.clone()));
                        }
                        if closed && since.elapsed() > STREAM_RETRY_AFTER_RUN {
                            break;
                        }
                        tokio::time::sleep(waits.next().unwrap_or(MAX_BACKOFF)).await;
                        continue;
                    }
                }
            }
            if self.sent == self.log.entries.len() {
                for done in waiting.drain(..) {
                    let _ = done.send(Ok(()));
                }
                if closed {
                    break;
                }
            }
        }
        let not_streamed = self.log.entries.len() - self.sent;
        if not_streamed > 0 {
            tracing::error!(execution_id = %self.execution_id, lines = not_streamed,
                "log stream unreachable; lines go to the store only");
        }
        not_streamed
    }

    fn take(&mut self, cmd: Command, waiting: &mut Vec<oneshot::Sender<Result<(), ApiError>>>) {
        match cmd {
            Command::Line(line) => self.push(line),
            Command::Flush(done) => waiting.push(done),
        }
    }

    /// Appends the next batch; after a failure, first finds where the stream stands (it
    /// may have taken part of a batch, or lost everything in a restart).
    async fn send_batch(&mut self, resync: bool) -> Result<(), ApiError> {
        if resync {
            let top = self.stream.last_id(self.execution_id).await?;
            self.sent = match top {
                None => 0,
                Some(top) => self.log.entries.partition_point(|e| e.id <= top),
            };
            if self.sent == self.log.entries.len() {
                return Ok(());
            }
        }
        let end = (self.sent + MAX_BATCH).min(self.log.entries.len());
        self.stream
            .append(&self.log.entries[self.sent..end])
            .await?;
        self.sent = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bifrost_core::logs::MemoryLogStream;

    #[test]
    fn ids_increase_like_redis() {
        let last = Some(StreamId { ms: 100, seq: 4 });
        assert_eq!(next_id(last, 101), StreamId { ms: 101, seq: 0 });
        assert_eq!(next_id(last, 100), StreamId { ms: 100, seq: 5 });
        // A clock that went backwards does not make ids go backwards.
        assert_eq!(next_id(last, 50), StreamId { ms: 100, seq: 5 });
        assert_eq!(next_id(None, 7), StreamId { ms: 7, seq: 0 });
    }

    fn line(i: u64) -> LogLine {
        LogLine {
            level: LogLevel::Info,
            message: format!("line {i}"),
            metadata: None,
            timestamp: Utc::now(),
        }
    }

    /// A stream whose appends wait for a permit.
    struct Gated {
        inner: MemoryLogStream,
        gate: tokio::sync::Semaphore,
    }

    #[async_trait::async_trait]
    impl LogStream for Gated {
        async fn append(
            &self,
            entries: &[LogEntry],
        ) -> Result<(), bifrost_core::error::LogStreamError> {
            let _permit = self.gate.acquire().await.expect("gate open");
            self.inner.append(entries).await
        }
        async fn last_id(
            &self,
            id: Uuid,
        ) -> Result<Option<StreamId>, bifrost_core::error::LogStreamError> {
            self.inner.last_id(id).await
        }
        async fn read(
            &self,
            id: Uuid,
            start: StreamId,
            count: u32,
        ) -> Result<Vec<LogEntry>, bifrost_core::error::LogStreamError> {
            self.inner.read(id, start, count).await
        }
        async fn read_last(
            &self,
            id: Uuid,
            count: u32,
        ) -> Result<Vec<LogEntry>, bifrost_core::error::LogStreamError> {
            self.inner.read_last(id, count).await
        }
        async fn delete(&self, id: Uuid) -> Result<(), bifrost_core::error::LogStreamError> {
            self.inner.delete(id).await
        }
    }

    #[tokio::test]
    async fn close_hands_the_log_over_before_the_stream_has_it() {
        let stream = Arc::new(Gated {
            inner: MemoryLogStream::new(),
            gate: tokio::sync::Semaphore::new(0),
        });
        let id = Uuid::new_v4();
        let (writer, task) = LogWriter::spawn(stream.clone(), id, &Limits::default());
        for i in 0..10 {
            writer.write(line(i));
        }
        drop(writer);
        // Not waiting for the stream: a writer that appended first would never return.
        let (log, catch_up) = tokio::time::timeout(Duration::from_secs(5), task.close())
            .await
            .expect("the log is handed over while the append waits");
        assert_eq!(log.entries.len(), 10);
        assert_eq!(log.entries[9].message, "line 9");
        assert!(
            stream
                .inner
                .read(id, StreamId::MIN, 100)
                .await
                .unwrap()
                .is_empty(),
            "the append is still waiting"
        );
        stream.gate.add_permits(1);
        assert_eq!(catch_up.finish().await, 0, "every line streamed");
        let streamed = stream.inner.read(id, StreamId::MIN, 100).await.unwrap();
        assert_eq!(streamed, *log.entries);
    }

    #[tokio::test]
    async fn caps_keep_the_first_lines_and_report_the_rest() {
        let stream = Arc::new(MemoryLogStream::new());
        let id = Uuid::new_v4();
        let limits = Limits {
            max_log_lines: 10,
            ..Limits::default()
        };
        let (writer, task) = LogWriter::spawn(stream.clone(), id, &limits);
        for i in 0..25 {
            writer.write(line(i));
        }
        writer.flush().await.unwrap();
        drop(writer);
        let outcome = task.finish().await;
        assert_eq!(outcome.dropped_lines, 15);
        assert_eq!(outcome.entries.len(), 11);
        assert_eq!(outcome.entries[9].message, "line 9");
        let notice = &outcome.entries[10];
        assert_eq!(notice.level, LogLevel::Warning);
        assert!(
            notice.message.contains("15 later lines"),
            "{}",
            notice.message
        );
        // The stream has exactly what was kept, in order.
        let streamed = stream.read(id, StreamId::MIN, 100).await.unwrap();
        assert_eq!(streamed, outcome.entries);
        assert!(streamed.windows(2).all(|w| w[0].id < w[1].id));
    }
}
