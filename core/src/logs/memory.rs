//! [`LogStream`] in process memory, for one runner on one machine: the same ids, order and
//! range semantics as Redis Streams, without a server.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use super::LogStream;
use crate::error::LogStreamError;
use crate::model::{LogEntry, StreamId};

/// Live logs held in this process. Lines written by one runner process are visible to
/// readers in the same process while the execution runs, and to every process once the
/// runner has moved them to the store at the end of the run.
#[derive(Debug, Default)]
pub struct MemoryLogStream {
    streams: Mutex<HashMap<Uuid, Stream>>,
}

#[derive(Debug, Default)]
struct Stream {
    entries: Vec<LogEntry>,
}

impl MemoryLogStream {
    /// An empty set of streams.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl LogStream for MemoryLogStream {
    async fn append(&self, entries: &[LogEntry]) -> Result<(), LogStreamError> {
        let mut streams = self.streams.lock().expect("log streams lock");
        for entry in entries {
            let stream = streams.entry(entry.execution_id).or_default();
            if stream
                .entries
                .last()
                .is_some_and(|last| entry.id <= last.id)
            {
                return Err(LogStreamError::Malformed(format!(
                    "entry id {} is not after the stream's last id",
                    entry.id
                )));
            }
            stream.entries.push(entry.clone());
        }
        Ok(())
    }

    async fn last_id(&self, execution_id: Uuid) -> Result<Option<StreamId>, LogStreamError> {
        let streams = self.streams.lock().expect("log streams lock");
        Ok(streams
            .get(&execution_id)
            .and_then(|s| s.entries.last())
            .map(|e| e.id))
    }

    async fn read(
        &self,
        execution_id: Uuid,
        start: StreamId,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError> {
        let streams = self.streams.lock().expect("log streams lock");
        let Some(stream) = streams.get(&execution_id) else {
            return Ok(Vec::new());
        };
        let from = stream.entries.partition_point(|e| e.id < start);
        Ok(stream.entries[from..]
            .iter()
            .take(count as usize)
            .cloned()
            .collect())
    }

    async fn read_last(
        &self,
        execution_id: Uuid,
        count: u32,
    ) -> Result<Vec<LogEntry>, LogStreamError> {
        let streams = self.streams.lock().expect("log streams lock");
        let Some(stream) = streams.get(&execution_id) else {
            return Ok(Vec::new());
        };
        let from = stream.entries.len().saturating_sub(count as usize);
        Ok(stream.entries[from..].to_vec())
    }

    async fn delete(&self, execution_id: Uuid) -> Result<(), LogStreamError> {
        self.streams
            .lock()
            .expect("log streams lock")
            .remove(&execution_id);
        Ok(())
    }
}
