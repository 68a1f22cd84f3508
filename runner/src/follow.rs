//! Following an execution's log as it is written: the lines already there, then each new
//! line as the runner writes it, until the execution has ended and its last line is out.
//!
//! The entry ids say which lines were handed out, so the move of the live stream into the
//! store at the end of the run neither drops nor repeats a line: every read asks for the
//! ids after the last one, from the stream or, once moved, from the store
//! ([`ExecutionsService::read_logs`]). A final status means the logs are stored, so one
//! read of the store after the status is final finds the last lines. New lines are waited for with
//! [`LogStream::wait`](bifrost_core::logs::LogStream::wait) (Redis: `XREAD BLOCK`, at most
//! [`BLOCK`] at a time); the other streams are read every [`POLL`]. Between waits the
//! execution's status is read from the store.

use std::time::Duration;

use bifrost_core::ExecutionsService;
use bifrost_core::Identity;
use bifrost_core::error::ApiError;
use bifrost_core::logs::Wait;
use bifrost_core::model::{Execution, LogEntry, StreamId};
use bifrost_core::query::{LogRange, MAX_LOG_COUNT};

/// Longest a follower blocks on a stream before it looks at the execution's status again:
/// how late, at most, it notices that the execution has ended.
pub const BLOCK: Duration = Duration::from_millis(500);

/// How often a follower reads a stream that cannot block a reader (the embedded SQLite
/// stream, the in-process one).
pub const POLL: Duration = Duration::from_millis(100);

/// Hands each log entry of execution `execution_id` from `start` (inclusive, as for
/// `logs`; `None` for the first) to `each`, in order and once each, as they are written,
/// and returns the execution (as `get` shows it to `who`) once it has ended and its last
/// entry has been handed out. `who` must be allowed to see the execution, as for `get`.
/// An error of `each` ends the follow with that error; `each` may wait (a bounded channel
/// to a slow reader holds the follow back rather than buffer the log).
pub async fn follow<E: From<ApiError>, F: Future<Output = Result<(), E>>>(
    service: &ExecutionsService,
    who: &Identity,
    execution_id: &str,
    start: Option<&str>,
    mut each: impl FnMut(LogEntry) -> F,
) -> Result<Execution, E> {
    let range = LogRange::validate(start, None).map_err(ApiError::from)?;
    let execution = service.get(who, execution_id).await?;
    let id = execution.id;
    let mut next = range.start;
    let mut last = before(next);
    let mut status = execution.status;
    loop {
        let ended = status.is_final();
        let batch = service
            .read_logs(
                id,
                status,
                LogRange {
                    start: next,
                    count: MAX_LOG_COUNT,
                },
            )
            .await?;
        let full = batch.len() == MAX_LOG_COUNT as usize;
        for entry in batch {
            let entry_id = entry.id;
            each(entry).await?;
            last = Some(entry_id);
            match entry_id.successor() {
                Some(after) => next = after,
                // The largest id there is: nothing can follow it.
                None => return Ok(service.get(who, execution_id).await?),
            }
        }
        if full {
            continue;
        }
        if ended {
            return Ok(service.get(who, execution_id).await?);
        }
        status = service
            .reader()
            .fetch(id, false)
            .await
            .map_err(ApiError::from)?
            .status;
        if status.is_final() {
            // Its logs are stored: one more read, of the store, hands out the last of them.
            continue;
        }
        let waited = service
            .log_stream()
            .wait(id, last, BLOCK)
            .await
            .map_err(ApiError::from)?;
        if waited == Wait::Unsupported {
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The id just before `id`, if any: what a wait for entries at or after `id` waits after.
fn before(id: StreamId) -> Option<StreamId> {
    match (id.ms, id.seq) {
        (0, 0) => None,
        (ms, 0) => Some(StreamId {
            ms: ms - 1,
            seq: u64::MAX,
        }),
        (ms, seq) => Some(StreamId { ms, seq: seq - 1 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_is_the_predecessor_in_stream_order() {
        for id in [
            StreamId { ms: 5, seq: 3 },
            StreamId { ms: 5, seq: 0 },
            StreamId { ms: 0, seq: 1 },
        ] {
            let prev = before(id).unwrap();
            assert!(prev < id);
            assert_eq!(prev.successor(), Some(id));
        }
        assert_eq!(before(StreamId::MIN), None);
    }
}
