//! `GET /executions/{id}/logs/stream`: an execution's log as server-sent events.
//!
//! One `log` event per line, its `id` the line's stream id and its data the line as
//! `GET .../logs` gives it; when the execution has ended and its last line is out, one
//! `end` event with `{"execution_id", "status"}`, and the stream closes. A client that
//! reconnects with `Last-Event-ID` (or `?after=ID`) gets every later line once: lines are
//! read by id after the last one handed out, from the live stream and, once the run has
//! moved it, from the store. The followers of one running execution share one follow of it
//! ([`crate::feed`]), which waits on the stream itself (Redis `XREAD BLOCK`) rather than
//! poll the database for lines. A comment every 15 s keeps idle connections open through
//! proxies.
//!
//! Each follower is a task that hands events to the response through a bounded channel: a
//! slow reader falls behind the shared follow (and reads what it missed by id) instead of
//! growing a buffer, and a reader that goes away ends its task.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bifrost_core::ApiError;
use bifrost_core::access::Scopes;
use bifrost_core::model::{Execution, ExecutionStatus, LogEntry, StreamId};
use bifrost_core::query::{LogRange, MAX_LOG_COUNT};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::Sender;
use tokio_stream::wrappers::ReceiverStream;

use crate::ApiState;
use crate::error::Failure;
use crate::executions::{bad_path, bad_query};
use crate::feed::Item;
use crate::tokens::Caller;

/// Events buffered between a follow and its reader.
const BUFFER: usize = 64;
/// How often an idle stream sends a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Sends the lines of `execution` from `next` (inclusive) as they come, each once, until
/// it has ended and its last line is out; returns its final status.
async fn pump(
    state: &ApiState,
    execution: Execution,
    mut next: StreamId,
    tx: &Sender<Event>,
) -> Result<ExecutionStatus, Stop> {
    let id = execution.id;
    if execution.status.is_final() {
        send_stored(state, id, execution.status, &mut next, tx).await?;
        return Ok(execution.status);
    }
    let feed = state.feeds.feed(&state.service, id);
    let (mut rx, mut ended) = feed.subscribe();
    // What is there already, from this follower's own start; then the feed's news.
    send_stored(state, id, execution.status, &mut next, tx).await?;
    loop {
        let item = match ended.take() {
            Some(item) => item,
            None => match rx.recv().await {
                Ok(item) => item,
                // Behind the feed's backlog: read what was missed, then on.
                Err(RecvError::Lagged(_)) => {
                    send_stored(state, id, ExecutionStatus::Running, &mut next, tx).await?;
                    continue;
                }
                Err(RecvError::Closed) => {
                    return Err(Stop::Failed(ApiError::Internal(
                        "the follow of this execution stopped".into(),
                    )));
                }
            },
        };
        match item {
            Item::Line(line) => {
                let (entry, json) = &*line;
                if entry.id >= next {
                    send_event(entry.id, json, &mut next, tx).await?;
                }
            }
            Item::End(Ok(execution)) => {
                // Its logs are stored: anything this follower has not had is there.
                send_stored(state, id, execution.status, &mut next, tx).await?;
                return Ok(execution.status);
            }
            Item::End(Err(e)) => return Err(Stop::Failed(e)),
        }
    }
}

/// Sends every line of `id` from `next` on, page by page, as the service reads them for
/// an execution last seen with `status`.
async fn send_stored(
    state: &ApiState,
    id: uuid::Uuid,
    status: ExecutionStatus,
    next: &mut StreamId,
    tx: &Sender<Event>,
) -> Result<(), Stop> {
    loop {
        let page = state
            .service
            .read_logs(
                id,
                status,
                LogRange {
                    start: *next,
                    count: MAX_LOG_COUNT,
                },
            )
            .await?;
        let full = page.len() == MAX_LOG_COUNT as usize;
        for entry in &page {
            send_line(entry, next, tx).await?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// Sends one line and moves `next` past it.
async fn send_line(entry: &LogEntry, next: &mut StreamId, tx: &Sender<Event>) -> Result<(), Stop> {
    let json = serde_json::to_string(entry)
        .map_err(|e| Stop::Failed(ApiError::Internal(e.to_string())))?;
    send_event(entry.id, &json, next, tx).await
}

/// Sends the line `id` whose JSON text is `json`, and moves `next` past it.
async fn send_event(
    id: StreamId,
    json: &str,
    next: &mut StreamId,
    tx: &Sender<Event>,
) -> Result<(), Stop> {
    let event = Event::default().event("log").id(id.to_string()).data(json);
    tx.send(event).await.map_err(|_| Stop::ReaderGone)?;
    // After the largest id there is nothing: a start past it reads nothing.
    *next = id.successor().unwrap_or(StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    });
    Ok(())
}

/// Why a follow stopped before the end.
enum Stop {
    /// The client closed the connection.
    ReaderGone,
    /// The store or the stream failed.
    Failed(ApiError),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Failed(e)
    }
}

#[derive(Deserialize)]
pub(crate) struct StreamParams {
    after: Option<String>,
}

pub(crate) async fn follow(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<StreamParams>, QueryRejection>,
) -> Result<Response, Failure> {
    let Path(id) = id.map_err(bad_path)?;
    let Query(p) = query.map_err(bad_query)?;
    open(state, &caller, &headers, &id, p.after).await
}

/// Follows execution `id` for `caller`, from after `Last-Event-ID` or else `after` (the
/// start when neither): the API's stream and the pages' live tail.
pub(crate) async fn open(
    state: ApiState,
    caller: &Caller,
    headers: &HeaderMap,
    id: &str,
    after: Option<String>,
) -> Result<Response, Failure> {
    caller.require(Scopes::READ)?;
    // `Last-Event-ID` (a reconnecting browser) wins over `?after=` (a first connection).
    let after = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Failure::invalid("Last-Event-ID", "not text"))?
                .to_owned(),
        ),
        None => after,
    };
    let start = match after {
        None => None,
        Some(text) => {
            let id: StreamId = text.trim().parse().map_err(|_| {
                Failure::invalid(
                    "after",
                    format!("{text:?} is not a log entry id (like 1733580000000-0)"),
                )
            })?;
            // The line after the last one the client has; after the largest id there is
            // nothing, which a start past every id gives.
            Some(id.successor().unwrap_or(StreamId {
                ms: u64::MAX,
                seq: u64::MAX,
            }))
        }
    };
    // Not found or not visible: answered now, as `get` answers, not inside the stream.
    let execution = state.service.get(caller.identity(), id).await?;
    let guard = state.limits.open_stream(&caller.token)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(BUFFER);
    tokio::spawn(async move {
        let _guard = guard;
        let id = execution.id;
        let end = match pump(&state, execution, start.unwrap_or(StreamId::MIN), &tx).await {
            Ok(status) => json!({ "execution_id": id, "status": status }),
            Err(Stop::ReaderGone) => return,
            Err(Stop::Failed(e)) => {
                tracing::warn!(execution = %id, error = %e, "a log stream ended early");
                json!({ "execution_id": id, "error": e.to_string() })
            }
        };
        let _ = tx
            .send(Event::default().event("end").data(end.to_string()))
            .await;
    });
    let events = futures_util::StreamExt::map(ReceiverStream::new(rx), Ok::<Event, Infallible>);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}
