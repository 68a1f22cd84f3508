//! The platform's HTTP API, under `/api/v1`, JSON: executions and their logs (live over
//! server-sent events), submissions and cancels, deployed workflows, tokens and the audit
//! record. `bifrost-runner serve --listen ADDR` serves it; an embedder mounts [`router`].
//!
//! Every request but none carries `Authorization: Bearer <token>`; the caller's identity
//! is the token's ([`tokens::Caller`]) and what it may see is what a workflow of that
//! identity sees ([`bifrost_core::ExecutionsService`]: one home for the visibility rule).
//! Scopes say what else it may do: `read` (executions, logs, workflows), `run` (submit,
//! cancel), `deploy` (deploy, remove; for platform admins), `admin` (tokens, audit).
//!
//! | method and path | scope | answer |
//! |---|---|---|
//! | `GET /executions` | read | `{"executions": [...], "next_cursor": ...}`; `workflow_name`, `status`, `start_date`, `end_date`, `limit` (default 50, at most 1000), `cursor` |
//! | `GET /executions/{id}` | read | the execution; 404 not found, 403 not visible |
//! | `GET /executions/{id}/logs` | read | `{"logs": [...]}`; `start` (an entry id, inclusive), `count` |
//! | `GET /executions/{id}/logs/stream` | read | `text/event-stream`: `log` events (id: the entry id), then one `end` event |
//! | `POST /executions` | run | 201 and the execution; body `{"workflow", "input", "at"}`; header `Idempotency-Key` |
//! | `POST /executions/{id}/cancel` | run | `{"execution_id", "status"}`; 409 once ended |
//! | `GET /workflows` | read | `{"workflows": [...]}` |
//! | `POST /workflows?name=NAME` | deploy | the deployment; body: the component's bytes |
//! | `DELETE /workflows/{name}` | deploy | `{"removed": name}` |
//! | `GET /tokens`, `POST /tokens`, `DELETE /tokens/{id}` | admin | the caller's own tokens |
//! | `GET /audit` | admin | `{"entries": [...], "next_before": ...}`; `before`, `limit` |
//! | `GET /openapi.json` | none | the OpenAPI document ([`openapi`]) |
//!
//! Errors: [`error`]. Limits: [`limits::ApiLimits`]. The pages for people, at `/` with
//! the same tokens, rules and limits (a cookie instead of the header): [`web`].

mod admin;
pub mod error;
mod executions;
mod feed;
pub mod limits;
pub mod openapi;
mod stream;
pub mod tokens;
pub mod web;
mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use bifrost_core::ExecutionsService;
use bifrost_core::access::AccessStore;
use bifrost_core::queue::QueueStore;
use bifrost_core::workflows::WorkflowStore;
use bifrost_runner::Runner;

pub use limits::ApiLimits;

use crate::error::Failure;
use crate::limits::Enforcer;

/// What the API answers from: the stores, the log stream, and a runner to check deployed
/// components with.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) service: ExecutionsService,
    pub(crate) queue: Arc<dyn QueueStore>,
    pub(crate) workflows: Arc<dyn WorkflowStore>,
    pub(crate) access: Arc<dyn AccessStore>,
    pub(crate) runner: Arc<Runner>,
    pub(crate) limits: Arc<Enforcer>,
    pub(crate) feeds: Arc<feed::Feeds>,
    pub(crate) tokens: Arc<tokens::TokenCache>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState").finish_non_exhaustive()
    }
}

impl ApiState {
    /// The API over these backends (all of one store but the log stream's), checking
    /// deployed components with `runner`, within `limits`.
    pub fn new(
        service: ExecutionsService,
        queue: Arc<dyn QueueStore>,
        workflows: Arc<dyn WorkflowStore>,
        access: Arc<dyn AccessStore>,
        runner: Arc<Runner>,
        limits: ApiLimits,
    ) -> Self {
        Self {
            service,
            queue,
            workflows,
            access,
            runner,
            limits: Arc::new(Enforcer::new(limits)),
            feeds: Arc::default(),
            tokens: Arc::default(),
        }
    }
}

/// `GET /openapi.json`: the document, with no token needed.
async fn openapi_json() -> impl axum::response::IntoResponse {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(openapi::text);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        TEXT.as_str(),
    )
}

/// The API's routes, under `/api/v1`, with their limits; and the pages ([`web`]) at `/`.
pub fn router(state: ApiState) -> Router {
    let limits = state.limits.limits.clone();
    let timeout = limits.request_timeout;
    // Every route but the event stream answers within the request timeout.
    let timed = Router::new()
        .route(
            "/executions",
            get(executions::list).post(executions::submit),
        )
        .route("/executions/{id}", get(executions::get))
        .route("/executions/{id}/logs", get(executions::logs))
        .route("/executions/{id}/cancel", post(executions::cancel))
        .route("/workflows", get(workflows::list))
        .route(
            "/workflows",
            post(workflows::deploy).layer(DefaultBodyLimit::max(limits.max_component_bytes)),
        )
        .route("/workflows/{name}", delete(workflows::remove))
        .route("/tokens", get(admin::tokens).post(admin::create_token))
        .route("/tokens/{id}", delete(admin::revoke_token))
        .route("/audit", get(admin::audit_log))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(timeout, next.run(req)).await {
                    Ok(response) => response,
                    Err(_) => axum::response::IntoResponse::into_response(Failure::Api(
                        bifrost_core::ApiError::Unavailable(format!(
                            "the request took longer than {} s",
                            timeout.as_secs()
                        )),
                    )),
                }
            },
        ));
    let (body_cap, component_cap) = (limits.max_body_bytes, limits.max_component_bytes);
    let api = timed
        .route("/executions/{id}/logs/stream", get(stream::follow))
        .route("/openapi.json", get(openapi_json))
        .fallback(|| async { Failure::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { Failure::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        // A body that says it is over its cap is refused before any of it is read (one
        // without a length is cut off at the cap by the body limit above).
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                let deploy = req.method() == axum::http::Method::POST
                    && req.uri().path().ends_with("/workflows");
                let cap = if deploy { component_cap } else { body_cap };
                let declared = req
                    .headers()
                    .get(axum::http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                match declared {
                    Some(len) if len > cap as u64 => axum::response::IntoResponse::into_response(
                        Failure::TooLarge(format!("the body is over {cap} bytes")),
                    ),
                    _ => next.run(req).await,
                }
            },
        ))
        .with_state(state.clone());
    Router::new().nest("/api/v1", api).merge(web::router(state))
}
