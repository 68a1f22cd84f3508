//! `/tokens` and `/audit`: the `admin` scope. Through the API a caller manages its own
//! user's tokens only, and never makes one with more than its own: the same identity, a
//! subset of its scopes, an end no later than its own. Other users' tokens are made and
//! revoked with the command line (`bifrost-runner tokens`), which holds the database.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bifrost_core::access::{Scopes, Token};
use bifrost_core::error::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ApiState;
use crate::error::Failure;
use crate::executions::{bad_json, bad_path, bad_query, number, time};
use crate::tokens::{Caller, NewToken, audit, create};

/// Default and largest page of the audit record.
const AUDIT_PAGE: u32 = 100;
const AUDIT_MAX: u32 = 1000;

pub(crate) async fn tokens(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Value>, Failure> {
    caller.require(Scopes::ADMIN)?;
    let mine: Vec<Token> = state
        .access
        .tokens()
        .await?
        .into_iter()
        .filter(|t| t.identity.user_id == caller.identity().user_id)
        .collect();
    Ok(Json(json!({ "tokens": mine })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    #[serde(default)]
    name: String,
    scopes: Vec<String>,
    expires_at: Option<String>,
}

pub(crate) async fn create_token(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), Failure> {
    caller.require(Scopes::ADMIN)?;
    let Json(body) = body.map_err(bad_json)?;
    let scopes = Scopes::parse(body.scopes.iter().map(String::as_str))
        .map_err(|e| Failure::invalid("scopes", e))?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|t| time("expires_at", t))
        .transpose()?
        // A token without an end may make only tokens within its own.
        .or(caller.token.expires_at);
    let identity = caller.identity().clone();
    if !caller.token.covers(&identity, scopes, expires_at) {
        return Err(Failure::Forbidden(
            "a token made through the API has at most its maker's scopes and ends no later".into(),
        ));
    }
    let created = create(
        &*state.access,
        NewToken {
            name: body.name,
            identity,
            scopes,
            expires_at,
        },
        Some(&caller.token),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

pub(crate) async fn revoke_token(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, Failure> {
    caller.require(Scopes::ADMIN)?;
    let Path(id) = id.map_err(bad_path)?;
    let not_found = || Failure::NotFound(format!("no token {id} of this user"));
    let id: Uuid = id.trim().parse().map_err(|_| not_found())?;
    // Another user's token is not found, as if it did not exist.
    let all = state.access.tokens().await?;
    if !all
        .iter()
        .any(|t| t.id == id && t.identity.user_id == caller.identity().user_id)
    {
        return Err(not_found());
    }
    let token = state
        .access
        .revoke_token(id, chrono::Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => not_found(),
            other => other.into(),
        })?;
    // After the store has it: a lookup in between would keep the token a second more.
    state.tokens.forget(id);
    audit(
        &*state.access,
        caller.identity(),
        Some(&caller.token),
        "token.revoke",
        id.to_string(),
        json!({ "name": token.name }),
    )
    .await?;
    Ok(Json(json!(token)))
}

#[derive(Deserialize)]
pub(crate) struct AuditParams {
    before: Option<String>,
    limit: Option<String>,
}

pub(crate) async fn audit_log(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<Value>, Failure> {
    caller.require(Scopes::ADMIN)?;
    let Query(p) = query.map_err(bad_query)?;
    let limit = number("limit", p.limit.as_deref())?.unwrap_or(AUDIT_PAGE);
    if !(1..=AUDIT_MAX).contains(&limit) {
        return Err(Failure::invalid("limit", format!("from 1 to {AUDIT_MAX}")));
    }
    let before = p
        .before
        .as_deref()
        .map(|b| {
            b.trim()
                .parse::<i64>()
                .map_err(|_| Failure::invalid("before", format!("{b:?} is not a position")))
        })
        .transpose()?;
    // A platform admin of one organisation reads its users' acts only.
    let entries = state
        .access
        .audit_log(&caller.identity().scope(), before, limit)
        .await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Json(
        json!({ "entries": entries, "next_before": next_before }),
    ))
}
