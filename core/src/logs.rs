//! Live log streams: one stream per running execution, read by entry id.
//!
//! Stream commands live only in the implementations: [`MemoryLogStream`] here, Redis
//! Streams in `bifrost-redis`.

mod memory;

use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

pub use self::memory::MemoryLogStream;
use crate::error::LogStreamError;
use crate::model::{LogEntry, StreamId};

/// Live log streams, one per execution.
#[async_trait]
pub trait LogStream: Send + Sync + 'static {
    /// Appends entries in order, in one round trip. Their ids are given by the caller and
    /// must be greater than the stream's last id; an entry that is not is refused (so a
    /// repeated append after an uncertain failure cannot duplicate lines: see
    /// [`last_id`](Self::last_id)).
    async fn append(&self, entries: &[LogEntry]) -> Result<(), LogStreamError>;

    /// The id of the stream's last entry; `None` for an empty or missing stream.
    async fn last_id(&self, execution_id: Uuid) -> Result<Option<StreamId>, LogStreamError>;

    /// Entries with id >= `start`, oldest first, at most `count`. An execution with no
    /// stream (never logged, or moved to the store) reads as empty.
    async fn read(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError>;

    /// The last `count` entries, oldest first (a page's tail of a huge log), read from
    /// the end of the stream.
    async fn read_last(
        &self,
        execution_id: Uuid,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError>;

    /// Removes an execution's stream.
    async fn delete(&self, execution_id: Uuid) -> Result<(), LogStreamError>;

    /// Whether this stream writes into the store's own database (the embedded SQLite
    /// file), so that a write to one waits for a write to the other. A runner overlaps the
    /// last writes to the stream with the store's final write, and deletes a moved stream
    /// after the run returns, only for a stream that does not (Redis, in-process): for one
    /// that does, overlapping writes only queue behind each other. Default `false`.
    fn shares_store_writer(&self) -> bool {
        false
    }

    /// Waits, at most `timeout`, until the stream of `execution_id` has an entry with an id
    /// greater than `after` (any entry, for `None`). A stream whose server can block a
    /// reader (Redis: `XREAD BLOCK`) does so; the default answers [`Wait::Unsupported`] at
    /// once and the caller polls [`read`](Self::read) at an interval of its choosing. A
    /// stream that is deleted meanwhile (moved to the store) wakes no one: the caller
    /// looks at the execution's status between waits.
    async fn wait(
        &self,
        execution_id: Uuid,
        after: Option<StreamId>,
        timeout: Duration,
    ) -> Result<Wait, LogStreamError> {
        let _ = (execution_id, after, timeout);
        Ok(Wait::Unsupported)
    }
}

/// How a [`LogStream::wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// An entry after the given id is there.
    Ready,
    /// The timeout passed first.
    TimedOut,
    /// This stream cannot block a reader; poll.
    Unsupported,
}
