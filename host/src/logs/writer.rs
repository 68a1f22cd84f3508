//! Per-execution log writer: collects lines from the guest (log import, stdout, stderr) and
//! appends them to the stream in batches, one pipelined round trip per batch.
//!
//! A log call only queues the line. A background task takes every line queued since its
//! last write and appends them together, so under load batches grow by themselves and an
//! idle execution's line is written at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::LogStream;
use crate::error::ApiError;
use crate::model::LogLine;

/// Most lines in one pipelined append.
const MAX_BATCH: usize = 1000;

enum Command {
    Line(LogLine),
    Flush(oneshot::Sender<Result<(), ApiError>>),
}

/// Queues an execution's log lines for its stream. Cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    tx: mpsc::UnboundedSender<Command>,
    stats: Arc<WriterStats>,
}

/// Counts of a writer, for the execution record.
#[derive(Debug, Default)]
pub struct WriterStats {
    written: AtomicU64,
    lost: AtomicU64,
}

impl WriterStats {
    /// Lines appended to the stream.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Lines the stream refused (backend unavailable after retries).
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

/// The task behind a [`LogWriter`]; await [`finish`](Self::finish) after the last line.
pub struct LogWriterTask {
    handle: JoinHandle<()>,
    stats: Arc<WriterStats>,
}

impl LogWriter {
    /// Starts a writer for `execution_id` on the current tokio runtime.
    pub fn spawn(stream: Arc<dyn LogStream>, execution_id: Uuid) -> (LogWriter, LogWriterTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(WriterStats::default());
        let handle = tokio::spawn(run(stream, execution_id, rx, stats.clone()));
        (
            LogWriter {
                tx,
                stats: stats.clone(),
            },
            LogWriterTask { handle, stats },
        )
    }

    /// Queues one line. Returns at once; the line is written in order with the others.
    pub fn write(&self, line: LogLine) {
        // The task outlives every writer; a closed channel means the run is over and there
        // is nobody left to read the line.
        let _ = self.tx.send(Command::Line(line));
    }

    /// Waits until every line queued before this call is in the stream.
    pub async fn flush(&self) -> Result<(), ApiError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Flush(done))
            .map_err(|_| ApiError::Internal("log writer stopped".into()))?;
        wait.await
            .map_err(|_| ApiError::Internal("log writer stopped".into()))?
    }

    /// The writer's counts.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

impl LogWriterTask {
    /// Waits for every queued line to be written; call after every [`LogWriter`] clone has
    /// been dropped. Returns the counts.
    pub async fn finish(self) -> Arc<WriterStats> {
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "log writer task failed");
        }
        self.stats
    }
}

async fn run(
    stream: Arc<dyn LogStream>,
    execution_id: Uuid,
    mut rx: mpsc::UnboundedReceiver<Command>,
    stats: Arc<WriterStats>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut waiting = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Command::Line(line) => batch.push(line),
                Command::Flush(done) => waiting.push(done),
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        let result = append(&*stream, execution_id, &batch, &stats).await;
        batch.clear();
        for done in waiting.drain(..) {
            let _ = done.send(result.clone());
        }
    }
}

/// Appends a batch, retrying a few times when the stream is unreachable; lines that still
/// cannot be written are counted as lost.
async fn append(
    stream: &dyn LogStream,
    execution_id: Uuid,
    lines: &[LogLine],
    stats: &WriterStats,
) -> Result<(), ApiError> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut delay = std::time::Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        match stream.append(execution_id, lines).await {
            Ok(ids) => {
                stats.written.fetch_add(ids.len() as u64, Ordering::Relaxed);
                return Ok(());
            }
            Err(e) if attempt < 3 => {
                tracing::warn!(%execution_id, error = %e, attempt, "log append failed; retrying");
                attempt += 1;
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            Err(e) => {
                tracing::error!(%execution_id, error = %e, lines = lines.len(), "log lines lost");
                stats.lost.fetch_add(lines.len() as u64, Ordering::Relaxed);
                return Err(e.into());
            }
        }
    }
}
