//! `/executions`: list, get, logs, submit, cancel. Reads go through the executions
//! service with the caller's identity, so they answer exactly as a workflow of that
//! identity is answered; parameters are parsed and refused as the guest API's are.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use bifrost_core::access::{KeyReused, Scopes};
use bifrost_core::model::{Execution, ExecutionStatus};
use bifrost_core::query::ListFilter;
use bifrost_core::{ApiError, Identity};
use bifrost_runner::RunRequest;
use bifrost_runner::worker::submit_as;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ApiState;
use crate::error::Failure;
use crate::tokens::{Caller, audit};

/// Longest `Idempotency-Key`, in bytes.
const MAX_KEY_BYTES: usize = 255;

/// A query string the API could not read: 400 naming the parameter where serde does.
pub(crate) fn bad_query(e: QueryRejection) -> Failure {
    Failure::Invalid {
        parameter: None,
        message: format!("malformed query string: {}", e.body_text()),
    }
}

/// A path segment the API could not read (not UTF-8, say).
pub(crate) fn bad_path(e: PathRejection) -> Failure {
    Failure::Invalid {
        parameter: None,
        message: format!("malformed path: {}", e.body_text()),
    }
}

/// The filters of `GET /executions`, as text: each is parsed as the guest API parses it.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct ListParams {
    pub(crate) workflow_name: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) start_date: Option<String>,
    pub(crate) end_date: Option<String>,
    pub(crate) limit: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// A number parameter: digits that fit a `u32`, else an invalid argument naming it.
pub(crate) fn number(parameter: &'static str, text: Option<&str>) -> Result<Option<u32>, Failure> {
    text.map(|t| {
        t.trim().parse::<u32>().map_err(|_| {
            Failure::Api(ApiError::invalid(
                parameter,
                format!("{t:?} is not a whole number from 0 to {}", u32::MAX),
            ))
        })
    })
    .transpose()
}

/// A page of `GET /executions`, written as it is (not through a JSON value).
#[derive(Serialize)]
pub(crate) struct Page {
    executions: Vec<Execution>,
    next_cursor: Option<String>,
}

/// The lines of `GET /executions/{id}/logs`.
#[derive(Serialize)]
pub(crate) struct Logs {
    logs: Vec<bifrost_core::model::LogEntry>,
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Page>, Failure> {
    caller.require(Scopes::READ)?;
    let Query(p) = query.map_err(bad_query)?;
    let (filter, cursor) = p.filter()?;
    let page = state
        .service
        .list_page(caller.identity(), &filter, cursor.as_deref())
        .await?;
    Ok(Json(Page {
        executions: page.executions,
        next_cursor: page.next_cursor,
    }))
}

impl ListParams {
    /// The filter these parameters name (as the guest API parses them), and the cursor.
    pub(crate) fn filter(self) -> Result<(ListFilter, Option<String>), Failure> {
        let status = self
            .status
            .as_deref()
            .map(|s| {
                s.parse::<ExecutionStatus>()
                    .map_err(|e| ApiError::invalid("status", e.to_string()))
            })
            .transpose()?;
        let filter = ListFilter {
            workflow_name: self.workflow_name,
            status,
            start_date: self.start_date,
            end_date: self.end_date,
            limit: number("limit", self.limit.as_deref())?,
        };
        Ok((filter, self.cursor))
    }

    /// The parameters a form sent: an empty field is no filter.
    pub(crate) fn without_empty(self) -> Self {
        let some = |v: Option<String>| v.filter(|t| !t.trim().is_empty());
        Self {
            workflow_name: some(self.workflow_name),
            status: some(self.status),
            start_date: some(self.start_date),
            end_date: some(self.end_date),
            limit: some(self.limit),
            cursor: some(self.cursor),
        }
    }
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Execution>, Failure> {
    caller.require(Scopes::READ)?;
    let Path(id) = id.map_err(bad_path)?;
    Ok(Json(state.service.get(caller.identity(), &id).await?))
}

/// The range of `GET /executions/{id}/logs`.
#[derive(Deserialize)]
pub(crate) struct LogParams {
    start: Option<String>,
    count: Option<String>,
}

pub(crate) async fn logs(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<LogParams>, QueryRejection>,
) -> Result<Json<Logs>, Failure> {
    caller.require(Scopes::READ)?;
    let Path(id) = id.map_err(bad_path)?;
    let Query(p) = query.map_err(bad_query)?;
    let count = number("count", p.count.as_deref())?;
    let logs = state
        .service
        .logs(
            caller.identity(),
            None,
            Some(&id),
            p.start.as_deref(),
            count,
        )
        .await?;
    Ok(Json(Logs { logs }))
}

/// The body of `POST /executions`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitBody {
    workflow: String,
    #[serde(default = "empty_object")]
    input: Value,
    at: Option<String>,
}

fn empty_object() -> Value {
    json!({})
}

/// A JSON body the API could not read: 400 (413 when it is over the body limit).
pub(crate) fn bad_json(e: JsonRejection) -> Failure {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Failure::TooLarge(e.body_text());
    }
    Failure::Invalid {
        parameter: None,
        message: format!("malformed JSON body: {}", e.body_text()),
    }
}

/// An RFC 3339 time parameter.
pub(crate) fn time(parameter: &'static str, text: &str) -> Result<DateTime<Utc>, Failure> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Failure::invalid(
                parameter,
                format!("{text:?} is not an RFC 3339 time (2026-12-24T18:00:00Z): {e}"),
            )
        })
}

pub(crate) async fn submit(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Json<SubmitBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Execution>), Failure> {
    caller.require(Scopes::RUN)?;
    let Json(body) = body.map_err(bad_json)?;
    let at = body.at.as_deref().map(|t| time("at", t)).transpose()?;
    let key = idempotency_key(&headers)?;
    let (fresh, execution) =
        submit_for(&state, &caller, body.workflow, body.input, at, key).await?;
    let status = if fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(execution)))
}

/// Submits `workflow` with `input` (at `at`, or now) as `caller`, once per idempotency
/// `key`: the execution, and whether this call recorded it (`false`: a retry of `key`).
/// The API's `POST /executions` and the pages' run form.
pub(crate) async fn submit_for(
    state: &ApiState,
    caller: &Caller,
    workflow: String,
    input: Value,
    at: Option<DateTime<Utc>>,
    key: Option<String>,
) -> Result<(bool, Execution), Failure> {
    caller.require(Scopes::RUN)?;
    let who = caller.identity().clone();
    let id = match &key {
        None => Uuid::new_v4(),
        Some(key) => {
            let request = json!({"workflow": workflow, "input": input, "at": at});
            let hash = hex::encode(Sha256::digest(request.to_string().as_bytes()));
            state
                .access
                .idempotent_execution(who.user_id, key, &hash, Uuid::new_v4(), Utc::now())
                .await?
                .map_err(|KeyReused| {
                    Failure::Conflict(
                        "this Idempotency-Key was used for a different request".into(),
                    )
                })?
        }
    };
    // A retried submission whose execution is recorded gets it back as it is now.
    if key.is_some() {
        match state.service.get(&who, &id.to_string()).await {
            Ok(execution) => return Ok((false, execution)),
            Err(ApiError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let submitted = submit_as(
        &*state.queue,
        &*state.workflows,
        id,
        RunRequest {
            workflow_name: workflow.clone(),
            input,
            identity: who.clone(),
            form_id: None,
            parent_execution_id: None,
            session_id: None,
        },
        at,
        &bifrost_core::limits::Limits::default(),
    )
    .await;
    if let Err(e) = submitted {
        // Two retries of one key at once: the other one recorded it.
        if key.is_some()
            && let Ok(execution) = state.service.get(&who, &id.to_string()).await
        {
            return Ok((false, execution));
        }
        return Err(run_error(e));
    }
    audit(
        &*state.access,
        &who,
        Some(&caller.token),
        "execution.submit",
        id.to_string(),
        json!({ "workflow_name": workflow }),
    )
    .await?;
    Ok((true, state.service.get(&who, &id.to_string()).await?))
}

/// The `Idempotency-Key` header, if any: printable ASCII, 1 to 255 bytes.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Failure> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= MAX_KEY_BYTES)
        .ok_or_else(|| Failure::invalid("Idempotency-Key", "1 to 255 bytes of printable ASCII"))?;
    Ok(Some(text.to_owned()))
}

/// A submission's error as the API answers it.
pub(crate) fn run_error(e: bifrost_runner::RunError) -> Failure {
    use bifrost_runner::RunError;
    match e {
        RunError::Backend(e) => Failure::Api(e),
        RunError::InvalidArgument { parameter, reason } => {
            Failure::Api(ApiError::invalid(parameter, reason))
        }
        e @ RunError::InputTooLarge { .. } => Failure::Api(ApiError::TooLarge(e.to_string())),
        RunError::Load(e) => Failure::Api(ApiError::Internal(format!("{e:#}"))),
    }
}

pub(crate) async fn cancel(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, Failure> {
    let Path(id) = id.map_err(bad_path)?;
    let (id, status) = cancel_for(&state, &caller, &id).await?;
    Ok(Json(json!({ "execution_id": id, "status": status })))
}

/// Cancels execution `id` as `caller` (409 once it has ended): its id and the status it
/// has now. The API's `POST .../cancel` and the pages' Cancel button.
pub(crate) async fn cancel_for(
    state: &ApiState,
    caller: &Caller,
    id: &str,
) -> Result<(Uuid, ExecutionStatus), Failure> {
    caller.require(Scopes::RUN)?;
    let who: &Identity = caller.identity();
    // The same visibility rule as `get`: not found, or not the caller's to see.
    let execution = state.service.get(who, id).await?;
    let outcome = state
        .queue
        .cancel(execution.id, Utc::now())
        .await?
        .map_err(|ended| Failure::Conflict(ended.to_string()))?;
    let status = match outcome {
        bifrost_core::queue::CancelOutcome::Cancelled => ExecutionStatus::Cancelled,
        bifrost_core::queue::CancelOutcome::Cancelling => ExecutionStatus::Cancelling,
    };
    audit(
        &*state.access,
        who,
        Some(&caller.token),
        "execution.cancel",
        execution.id.to_string(),
        json!({ "workflow_name": execution.workflow_name, "status": status }),
    )
    .await?;
    Ok((execution.id, status))
}
