//! [`LogStream`] in process memory, for one runner on one machine: the same ids, order and
//! range semantics as Redis Streams, without a server.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use super::LogStream;
use crate::error::LogStreamError;
use crate::model::{LogEntry, LogLine, StreamId};

/// Live logs held in this process. Lines written by one runner process are visible to
/// readers in the same process while the execution runs, and to every process once the
/// runner has moved them to the store at the end of the run.
#[derive(Debug, Default)]
pub struct MemoryLogStream {
    streams: Mutex<HashMap<Uuid, Stream>>,
}

#[derive(Debug, Default)]
struct Stream {
    last: StreamId,
    entries: Vec<LogEntry>,
}

impl MemoryLogStream {
    /// An empty set of streams.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The next id after `last` at wall-clock time `now_ms`, as Redis assigns `*` ids: the
/// current millisecond with sequence 0, or, if the clock has not moved past the last id,
/// the last id's millisecond with the next sequence.
fn next_id(last: StreamId, now_ms: u64) -> StreamId {
    if now_ms > last.ms {
        StreamId { ms: now_ms, seq: 0 }
    } else {
        // The successor exists: ids near u64::MAX milliseconds are half a billion years off.
        last.successor().unwrap_or(last)
    }
}

#[async_trait]
impl LogStream for MemoryLogStream {
    async fn append(
        &self,
        execution_id: Uuid,
        lines: &[LogLine],
    ) -> Result<Vec<StreamId>, LogStreamError> {
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let mut streams = self.streams.lock().expect("log streams lock");
        let stream = streams.entry(execution_id).or_default();
        let mut ids = Vec::with_capacity(lines.len());
        for line in lines {
            let id = next_id(stream.last, now_ms);
            stream.last = id;
            stream.entries.push(LogEntry {
                id,
                execution_id,
                level: line.level,
                message: line.message.clone(),
                metadata: line.metadata.clone(),
                timestamp: line.timestamp,
            });
            ids.push(id);
        }
        Ok(ids)
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

    async fn delete(&self, execution_id: Uuid) -> Result<(), LogStreamError> {
        self.streams
            .lock()
            .expect("log streams lock")
            .remove(&execution_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_like_redis() {
        let last = StreamId { ms: 100, seq: 4 };
        assert_eq!(next_id(last, 101), StreamId { ms: 101, seq: 0 });
        assert_eq!(next_id(last, 100), StreamId { ms: 100, seq: 5 });
        // A clock that went backwards does not make ids go backwards.
        assert_eq!(next_id(last, 50), StreamId { ms: 100, seq: 5 });
    }
}
