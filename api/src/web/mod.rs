//! The pages: runs, a run with its live log, workflows with a run form, served at `/` by
//! the process that serves the API, from the same state.
//!
//! A person signs in by pasting an API token. The secret is kept in the `bifrost_token`
//! cookie (`HttpOnly`, `SameSite=Strict`, `Path=/`; `Secure` when the request came
//! through a TLS proxy that says `X-Forwarded-Proto: https`) and every page asks
//! [`Caller::authenticate`] with it, exactly as the API asks with a bearer header: the
//! same identity, the same visibility rules ([`bifrost_core::ExecutionsService`]), the
//! same scopes and rate, and the same status for a refusal (a run of someone else's is
//! the 403 or 404 page the API would answer). Pages never read an identity from the
//! request otherwise.
//!
//! Every POST form carries a CSRF token: for a signed-in browser a digest of its session
//! secret ([`csrf_of`]; a page on another site cannot read the cookie to make it), and on
//! the sign-in form a random value also kept in a cookie of its own (double submit). A
//! POST without the right one is a 403 page. Every page is sent with a
//! Content-Security-Policy that allows scripts and styles from this origin only (no
//! inline script), and frames from nowhere.
//!
//! The script (`/assets/app.js`, embedded in the binary like the stylesheet) does four
//! things and the pages work without it but for them: it shows times in the reader's
//! zone, refreshes the rows of unfinished runs every two seconds until none is left,
//! follows a running execution's log over the API's event stream (the same
//! [`crate::stream`] follow, authenticated by the cookie) and shows its final status
//! without a reload, and checks a run form's JSON before it is sent.

mod session;
mod view;

pub use session::csrf_of;
use session::{CsrfForm, Session};

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, middleware};
use bifrost_core::ApiError;
use bifrost_core::access::Scopes;
use bifrost_core::model::StreamId;
use bifrost_core::query::{LogRange, MAX_LOG_COUNT};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use crate::ApiState;
use crate::error::Failure;
use crate::executions::{ListParams, cancel_for, submit_for, time};

/// Rows on a page of runs.
const PAGE_ROWS: u32 = 50;
/// Log lines a run page shows (the last ones); the download has them all.
pub const TAIL_LINES: usize = 1000;
/// Rows a refresh of unfinished runs asks for at most.
const MAX_REFRESH: usize = 100;

/// What every page is sent with.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages' routes, at `/`.
pub fn router(state: ApiState) -> Router {
    let timeout = state.limits.limits.request_timeout;
    // Every page answers within the API's request timeout; the live log and the download
    // last as long as they need.
    let timed = Router::new()
        .route("/", get(|| async { Redirect::to("/runs") }))
        .route("/runs", get(runs).post(run_workflow))
        .route("/runs/rows", get(rows))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/summary", get(summary))
        .route("/runs/{id}/cancel", post(cancel))
        .route("/workflows", get(workflows))
        .merge(session::routes())
        .layer(middleware::from_fn(
            move |req: axum::extract::Request, next: middleware::Next| async move {
                match tokio::time::timeout(timeout, next.run(req)).await {
                    Ok(response) => response,
                    Err(_) => PageFailure(Failure::Api(ApiError::Unavailable(format!(
                        "the page took longer than {} s",
                        timeout.as_secs()
                    ))))
                    .into_response(),
                }
            },
        ));
    Router::new()
        .merge(timed)
        .route("/runs/{id}/events", get(events))
        .route("/runs/{id}/log.jsonl", get(download))
        .route("/assets/app.js", get(script))
        .route("/assets/app.css", get(stylesheet))
        .fallback(|| async { PageFailure(Failure::NotFound("no such page".into())) })
        .layer(middleware::map_response(secure_headers))
        .with_state(state)
}

/// The headers of every page: what it may load, and nothing cached but the assets.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("assets/app.js"),
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("assets/app.css"),
    )
}

/// Percent-encodes `text` for a query string.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A refusal as a page: the status the API answers, its message for people.
pub(crate) struct PageFailure(pub(crate) Failure);

impl<E: Into<Failure>> From<E> for PageFailure {
    fn from(e: E) -> Self {
        PageFailure(e.into())
    }
}

impl IntoResponse for PageFailure {
    fn into_response(self) -> Response {
        let (status, kind, message, _) = self.0.parts();
        if status.is_server_error() {
            tracing::warn!(%status, kind, %message, "page request failed");
        }
        (status, view::failure(status, &message)).into_response()
    }
}

type PageResult = Result<Response, PageFailure>;

fn bad_form(e: FormRejection) -> PageFailure {
    PageFailure(Failure::Invalid {
        parameter: None,
        message: format!("malformed form: {}", e.body_text()),
    })
}

async fn runs(
    State(state): State<ApiState>,
    session: Session,
    query: Result<Query<ListParams>, QueryRejection>,
) -> PageResult {
    session.caller.require(Scopes::READ)?;
    let Query(params) = query.map_err(crate::executions::bad_query)?;
    let mut params = params.without_empty();
    params.limit = Some(PAGE_ROWS.to_string());
    let (filter, cursor) = params.clone().filter()?;
    let page = state
        .service
        .list_page(session.caller.identity(), &filter, cursor.as_deref())
        .await?;
    Ok(view::runs(
        &session,
        &params,
        &page.executions,
        page.next_cursor.as_deref(),
        Utc::now(),
    )
    .into_response())
}

#[derive(Deserialize)]
struct RowsParams {
    ids: String,
}

/// The rows of some runs (the unfinished ones a runs page shows), as they are now.
async fn rows(
    State(state): State<ApiState>,
    session: Session,
    query: Result<Query<RowsParams>, QueryRejection>,
) -> PageResult {
    session.caller.require(Scopes::READ)?;
    let Query(p) = query.map_err(crate::executions::bad_query)?;
    let mut executions = Vec::new();
    for id in p.ids.split(',').filter(|s| !s.is_empty()).take(MAX_REFRESH) {
        match state.service.get(session.caller.identity(), id).await {
            Ok(e) => executions.push(e),
            // Gone or no longer visible: the page keeps what it has.
            Err(
                ApiError::NotFound(_)
                | ApiError::PermissionDenied(_)
                | ApiError::InvalidArgument { .. },
            ) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(view::rows(&executions, Utc::now()).into_response())
}

async fn run(
    State(state): State<ApiState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let execution = session.visible(&state, &id).await?;
    let lines = state
        .service
        .tail_logs(execution.id, execution.status, TAIL_LINES as u32)
        .await?;
    Ok(view::run(&session, &execution, &lines, Utc::now()).into_response())
}

/// A run's details as they are now: what the page swaps in when its log ends.
async fn summary(
    State(state): State<ApiState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let execution = session.visible(&state, &id).await?;
    Ok(view::summary(&session, &execution, Utc::now()).into_response())
}

#[derive(Deserialize)]
struct EventsParams {
    after: Option<String>,
}

/// The live log of a run: the API's event stream, for the session's caller.
async fn events(
    State(state): State<ApiState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<EventsParams>, QueryRejection>,
) -> PageResult {
    let Query(p) = query.map_err(crate::executions::bad_query)?;
    let after = p.after.filter(|a| !a.is_empty());
    Ok(crate::stream::open(state, &session.caller, &headers, &id, after).await?)
}

/// The whole log of a run, one JSON object a line (as `GET .../logs` gives each entry).
async fn download(
    State(state): State<ApiState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let execution = session.visible(&state, &id).await?;
    let (service, id, status) = (state.service.clone(), execution.id, execution.status);
    // Page by page as the client reads: a server holds one page per download, whatever
    // the log's length. A store that fails midway ends the body early (the client sees a
    // cut-off transfer, not a short log that looks whole).
    let pages = futures_util::stream::unfold(Some(StreamId::MIN), move |start| {
        let service = service.clone();
        async move {
            let start = start?;
            let range = LogRange {
                start,
                count: MAX_LOG_COUNT,
            };
            let page = match service.read_logs(id, status, range).await {
                Ok(page) if page.is_empty() => return None,
                Ok(page) => page,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            };
            let next = match page.last() {
                Some(l) if page.len() == MAX_LOG_COUNT as usize => l.id.successor(),
                _ => None,
            };
            let mut text = String::new();
            for entry in &page {
                match serde_json::to_string(entry) {
                    Ok(json) => text.push_str(&json),
                    Err(e) => return Some((Err(std::io::Error::other(e)), None)),
                }
                text.push('\n');
            }
            Some((Ok(axum::body::Bytes::from(text)), next))
        }
    });
    let disposition = format!("attachment; filename=\"{id}.jsonl\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(pages),
    )
        .into_response())
}

async fn cancel(
    State(state): State<ApiState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(bad_form)?;
    session.check(&form.csrf)?;
    let (id, _) = cancel_for(&state, &session.caller, &id).await?;
    Ok(Redirect::to(&format!("/runs/{id}")).into_response())
}

async fn workflows(State(state): State<ApiState>, session: Session) -> PageResult {
    session.caller.require(Scopes::READ)?;
    let all = state.workflows.deployments().await?;
    Ok(view::workflows(&session, &all, &RunForm::default(), None).into_response())
}

/// The run form of the workflows page.
#[derive(Deserialize, Default)]
pub(crate) struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    workflow: String,
    #[serde(default)]
    input: String,
    /// RFC 3339, as the script writes it from the local time field.
    #[serde(default)]
    at: String,
    /// The local time field itself (`2026-12-24T18:00`), taken as UTC without the script.
    #[serde(default)]
    at_local: String,
}

impl RunForm {
    /// When to start: `at`, else `at_local` as UTC, else now.
    fn start(&self) -> Result<Option<DateTime<Utc>>, Failure> {
        if !self.at.trim().is_empty() {
            return time("at", &self.at).map(Some);
        }
        let local = self.at_local.trim();
        if local.is_empty() {
            return Ok(None);
        }
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(local, f).ok())
            .map(|t| Some(t.and_utc()))
            .ok_or_else(|| Failure::invalid("at", format!("{local:?} is not a date and time")))
    }
}

/// `POST /runs`: the run form. Its run's page, or the form again with the error.
async fn run_workflow(
    State(state): State<ApiState>,
    session: Session,
    form: Result<Form<RunForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(bad_form)?;
    session.check(&form.csrf)?;
    let submitted = async {
        let text = if form.input.trim().is_empty() {
            "{}"
        } else {
            form.input.as_str()
        };
        let input: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Failure::invalid("input", format!("not JSON: {e}")))?;
        let at = form.start()?;
        submit_for(
            &state,
            &session.caller,
            form.workflow.clone(),
            input,
            at,
            None,
        )
        .await
    }
    .await;
    match submitted {
        Ok((_, execution)) => Ok(Redirect::to(&format!("/runs/{}", execution.id)).into_response()),
        Err(
            e @ (Failure::Invalid { .. }
            | Failure::Api(
                ApiError::InvalidArgument { .. } | ApiError::NotFound(_) | ApiError::TooLarge(_),
            )
            | Failure::TooLarge(_)),
        ) => {
            let (status, _, message, _) = e.parts();
            let all = state.workflows.deployments().await?;
            Ok((
                status,
                view::workflows(&session, &all, &form, Some(&message)),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
