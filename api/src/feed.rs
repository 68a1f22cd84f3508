//! One follow per running execution, shared by every event stream of it in this process.
//!
//! A thousand people watching one run would otherwise be a thousand follows, each reading
//! the stream and the execution's status after every line. Here the first follower of a
//! running execution starts a [`Feed`]: a task that follows the execution (from the line
//! after the last one there, as the operator) and broadcasts each line, then the end. Each
//! follower subscribes first, then reads what it has not seen from the service itself (its
//! own start, which may be far back), and then takes the broadcast, keeping only ids after
//! the last one it sent: a line is sent once whether it came from its read or the feed. A
//! follower that falls behind the broadcast reads the lines it missed, by id, again. The
//! feed stops when its last follower goes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bifrost_core::model::{Execution, LogEntry, StreamId};
use bifrost_core::{ApiError, ExecutionsService, Identity};
use tokio::sync::broadcast;
use uuid::Uuid;

/// Lines a feed keeps for followers that are behind; past it, they read again.
const BACKLOG: usize = 1024;

/// What a feed broadcasts.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    /// A log line, with its JSON text (written once for every follower).
    Line(Arc<(LogEntry, String)>),
    /// The execution has ended (as `get` shows it to the operator) and every line is out;
    /// or the follow failed.
    End(Result<Arc<Execution>, ApiError>),
}

/// A shared follow of one execution.
pub(crate) struct Feed {
    tx: broadcast::Sender<Item>,
    /// The end, once broadcast: for followers that subscribe after it.
    ended: Arc<OnceLock<Item>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Feed {
    /// The items broadcast from now on, and the end if it was broadcast already.
    pub(crate) fn subscribe(&self) -> (broadcast::Receiver<Item>, Option<Item>) {
        let rx = self.tx.subscribe();
        // Read after subscribing: an end set later is broadcast to `rx` too.
        (rx, self.ended.get().cloned())
    }
}

/// The feeds of this process, by execution.
#[derive(Default)]
pub(crate) struct Feeds {
    feeds: Mutex<HashMap<Uuid, Weak<Feed>>>,
}

impl Feeds {
    /// The feed of execution `id`, started if there is none; held by the caller as long
    /// as it follows.
    pub(crate) fn feed(&self, service: &ExecutionsService, id: Uuid) -> Arc<Feed> {
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(feed) = feeds.get(&id).and_then(Weak::upgrade) {
            return feed;
        }
        feeds.retain(|_, f| f.strong_count() > 0);
        let (tx, _) = broadcast::channel(BACKLOG);
        let ended = Arc::new(OnceLock::new());
        let task = tokio::spawn(run(service.clone(), id, tx.clone(), ended.clone()));
        let feed = Arc::new(Feed { tx, ended, task });
        feeds.insert(id, Arc::downgrade(&feed));
        feed
    }
}

/// Follows execution `id` from the line after the last one there and broadcasts each
/// line, then the end.
async fn run(
    service: ExecutionsService,
    id: Uuid,
    tx: broadcast::Sender<Item>,
    ended: Arc<OnceLock<Item>>,
) {
    let end = |item: Item| {
        let _ = ended.set(item.clone());
        let _ = tx.send(item);
    };
    let who = Identity::operator();
    let start = match service.log_stream().last_id(id).await {
        Ok(last) => last.and_then(StreamId::successor),
        Err(e) => return end(Item::End(Err(e.into()))),
    };
    let start = start.map(|s| s.to_string());
    let lines = tx.clone();
    let ended_with = bifrost_runner::follow::follow(
        &service,
        &who,
        &id.to_string(),
        start.as_deref(),
        |entry| {
            let sent = serde_json::to_string(&entry)
                .map_err(|e| ApiError::Internal(e.to_string()))
                .map(|json| {
                    // No follower at the moment is no error: one may come.
                    let _ = lines.send(Item::Line(Arc::new((entry, json))));
                });
            std::future::ready(sent)
        },
    )
    .await;
    end(Item::End(ended_with.map(Arc::new)));
}
