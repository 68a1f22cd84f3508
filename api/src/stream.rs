//! `GET /executions/{id}/logs/stream`: an execution's log as server-sent events.
//!
//! One `log` event per line, its `id` the line's stream id and its data the line as
//! `GET .../logs` gives it; when the execution has ended and its last line is out, one
//! `end` event with `{"execution_id", "status"}`, and the stream closes. A client that
//! reconnects with `Last-Event-ID` (or `?after=ID`) gets every later line once: lines are
//! read by id after the last one handed out, from the live stream and, once the run has
//! moved it, from the store ([`bifrost_runner::follow`]), which waits on the stream itself
//! (Redis `XREAD BLOCK`) rather than poll the database for lines. A comment every 15 s
//! keeps idle connections open through proxies.
//!
//! The follow runs in a task of its own that hands events to the response through a
//! bounded channel: a slow reader holds its follow back instead of growing a buffer, and a
//! reader that goes away ends it.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use bifrost_core::ApiError;
use bifrost_core::access::Scopes;
use bifrost_core::model::StreamId;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use crate::ApiState;
use crate::error::Failure;
use crate::executions::{bad_path, bad_query};
use crate::tokens::Caller;

/// Events buffered between a follow and its reader.
const BUFFER: usize = 64;
/// How often an idle stream sends a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

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
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Failure> {
    caller.require(Scopes::READ)?;
    let Path(id) = id.map_err(bad_path)?;
    let Query(p) = query.map_err(bad_query)?;
    // `Last-Event-ID` (a reconnecting browser) wins over `?after=` (a first connection).
    let after = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Failure::invalid("Last-Event-ID", "not text"))?
                .to_owned(),
        ),
        None => p.after,
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
    let execution = state.service.get(caller.identity(), &id).await?;
    let guard = state.limits.open_stream(&caller.token)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(BUFFER);
    let who = caller.identity().clone();
    let id = execution.id.to_string();
    tokio::spawn(async move {
        let _guard = guard;
        let start = start.map(|s| s.to_string());
        let lines = tx.clone();
        let followed =
            bifrost_runner::follow::follow(&state.service, &who, &id, start.as_deref(), |entry| {
                let lines = lines.clone();
                async move {
                    let event = Event::default()
                        .event("log")
                        .id(entry.id.to_string())
                        .json_data(&entry)
                        .map_err(|e| Stop::Failed(ApiError::Internal(e.to_string())))?;
                    lines.send(event).await.map_err(|_| Stop::ReaderGone)
                }
            })
            .await;
        let end = match followed {
            Ok(execution) => json!({
                "execution_id": execution.id,
                "status": execution.status,
            }),
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
    let events = futures_util::StreamExt::map(ReceiverStream::new(rx), Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
