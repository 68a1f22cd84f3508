//! Waits for new entries, many at once, on one connection: every waiter of a process
//! registers the stream it waits on and the id it has read to; one task reads all of
//! those streams with a single `XREAD BLOCK` and wakes the waiters whose stream has an
//! entry after their id.
//!
//! One blocked read per waiter would need a connection each (a blocked read holds up
//! every command behind it on its connection); taking turns on one connection made a
//! thousand followers wait for each other. Here a waiter that the read in flight does not
//! cover (a stream it does not name, or an id before the one it names) interrupts it with
//! `CLIENT UNBLOCK` from the shared connection, once per read, so that the next read
//! covers it at once; a read blocks at most [`BLOCK`] in case an interruption arrives just
//! before the read it was meant for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bifrost_core::error::LogStreamError;
use bifrost_core::model::StreamId;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::StreamReadReply;
use tokio::sync::{Notify, oneshot};

use crate::stream_error;

/// Longest one `XREAD BLOCK` of the reader task.
const BLOCK: Duration = Duration::from_millis(200);
/// Pause after a failed read before the next connection.
const RETRY: Duration = Duration::from_millis(200);

type Answer = Result<(), LogStreamError>;

struct Waiter {
    id: u64,
    after: Option<StreamId>,
    wake: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct State {
    /// Waiters by stream key.
    waiting: HashMap<String, Vec<Waiter>>,
    /// What the read in flight covers: each key and the id it reads after.
    reading: HashMap<String, Option<StreamId>>,
    /// Whether the read in flight was interrupted already.
    interrupted: bool,
    /// The reading connection's `CLIENT ID`, once connected.
    client_id: Option<i64>,
    /// Whether the reader task runs.
    running: bool,
    next_id: u64,
}

/// The waiters of one [`RedisLogStream`](crate::RedisLogStream) and its clones.
pub(crate) struct Waits {
    state: Mutex<State>,
    changed: Notify,
    client: redis::Client,
    shared: ConnectionManager,
}

impl Waits {
    pub(crate) fn new(client: redis::Client, shared: ConnectionManager) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            changed: Notify::new(),
            client,
            shared,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until stream `key` has an entry after `after` (any entry, for `None`), or
    /// `timeout`: `Ok(true)` for an entry, `Ok(false)` for the timeout.
    pub(crate) async fn wait(
        self: &Arc<Self>,
        key: String,
        after: Option<StreamId>,
        timeout: Duration,
    ) -> Result<bool, LogStreamError> {
        let (wake, woken) = oneshot::channel();
        let (id, interrupt) = {
            let mut s = self.lock();
            s.next_id += 1;
            let id = s.next_id;
            let covered = s
                .reading
                .get(&key)
                .is_some_and(|read_after| *read_after <= after);
            s.waiting
                .entry(key.clone())
                .or_default()
                .push(Waiter { id, after, wake });
            if !s.running {
                s.running = true;
                tokio::spawn(read_loop(Arc::downgrade(self)));
            }
            let interrupt = !covered && !s.reading.is_empty() && !s.interrupted;
            if interrupt {
                s.interrupted = true;
            }
            (id, interrupt.then_some(s.client_id).flatten())
        };
        self.changed.notify_one();
        if let Some(client_id) = interrupt {
            let mut conn = self.shared.clone();
            // Best effort: the read ends within `BLOCK` anyway.
            let _: Result<i64, _> = redis::cmd("CLIENT")
                .arg("UNBLOCK")
                .arg(client_id)
                .query_async(&mut conn)
                .await;
        }
        match tokio::time::timeout(timeout, woken).await {
            Ok(Ok(answer)) => answer.map(|()| true),
            // The reader task went away (the stream was dropped): as a timeout.
            Ok(Err(_)) => Ok(false),
            Err(_) => {
                let mut s = self.lock();
                if let Some(list) = s.waiting.get_mut(&key) {
                    list.retain(|w| w.id != id);
                    if list.is_empty() {
                        s.waiting.remove(&key);
                    }
                }
                Ok(false)
            }
        }
    }
}

/// The reader task: reads every waited-on stream in one `XREAD BLOCK`, wakes the waiters
/// it can, and again; ends when the streams' owner is gone.
async fn read_loop(waits: Weak<Waits>) {
    let mut conn: Option<MultiplexedConnection> = None;
    loop {
        let Some(w) = waits.upgrade() else { return };
        let keys: Vec<(String, Option<StreamId>)> = {
            let mut s = w.lock();
            s.waiting.retain(|_, list| {
                list.retain(|waiter| !waiter.wake.is_closed());
                !list.is_empty()
            });
            let keys: Vec<_> = s
                .waiting
                .iter()
                .map(|(k, list)| (k.clone(), list.iter().map(|x| x.after).min().flatten()))
                .collect();
            s.reading = keys.iter().cloned().collect();
            s.interrupted = false;
            keys
        };
        if keys.is_empty() {
            // Wakes for a new waiter, or looks again now and then to notice the owner gone.
            let _ = tokio::time::timeout(Duration::from_secs(5), w.changed.notified()).await;
            continue;
        }
        let c = match &mut conn {
            Some(c) => c,
            None => match connect(&w).await {
                Ok((c, client_id)) => {
                    w.lock().client_id = Some(client_id);
                    conn.insert(c)
                }
                Err(e) => {
                    fail_all(&w, &e);
                    drop(w);
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            },
        };
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS");
        for (key, _) in &keys {
            cmd.arg(key);
        }
        for (_, after) in &keys {
            cmd.arg(after.map_or_else(|| "0-0".to_owned(), |a| a.to_string()));
        }
        let reply: Result<Option<StreamReadReply>, _> = cmd.query_async(c).await;
        let failed = match reply {
            Ok(reply) => {
                wake_ready(&mut w.lock(), reply);
                false
            }
            Err(e) => {
                fail_all(&w, &stream_error(e));
                true
            }
        };
        if failed {
            conn = None;
            drop(w);
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// Wakes the waiters that the entries of `reply` are after.
fn wake_ready(s: &mut State, reply: Option<StreamReadReply>) {
    s.reading.clear();
    for stream in reply.map(|r| r.keys).unwrap_or_default() {
        let Some(first) = stream
            .ids
            .first()
            .and_then(|e| e.id.parse::<StreamId>().ok())
        else {
            continue;
        };
        if let Some(list) = s.waiting.get_mut(&stream.key) {
            // Those behind the entry read have a new entry; those ahead of it wait on,
            // and the next read asks after their ids.
            let (ready, ahead): (Vec<Waiter>, Vec<Waiter>) = list
                .drain(..)
                .partition(|x| x.after.is_none_or(|a| a < first));
            *list = ahead;
            for waiter in ready {
                let _ = waiter.wake.send(Ok(()));
            }
        }
    }
}

async fn connect(w: &Waits) -> Result<(MultiplexedConnection, i64), LogStreamError> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        // The server answers when the block ends; allow it that and a margin.
        .set_response_timeout(Some(BLOCK + Duration::from_secs(5)));
    let mut conn = w
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(stream_error)?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut conn)
        .await
        .map_err(stream_error)?;
    Ok((conn, id))
}

/// Answers every waiter with `e` (the server cannot be read).
fn fail_all(w: &Waits, e: &LogStreamError) {
    let mut s = w.lock();
    s.client_id = None;
    s.reading.clear();
    for (_, list) in s.waiting.drain() {
        for waiter in list {
            let _ = waiter.wake.send(Err(match e {
                LogStreamError::Unavailable(m) => LogStreamError::Unavailable(m.clone()),
                LogStreamError::Malformed(m) => LogStreamError::Malformed(m.clone()),
            }));
        }
    }
}
