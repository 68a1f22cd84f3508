//! `/workflows`: the deployed workflows; deploying and removing them (the `deploy` scope,
//! and a platform admin's identity, as on the command line).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bifrost_core::ApiError;
use bifrost_core::access::Scopes;
use bifrost_core::error::StoreError;
use bifrost_core::query::validate_workflow_name;
use bifrost_core::storable::storable_text;
use bifrost_core::workflows::{DeployOutcome, Deployment};
use chrono::{SubsecRound, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ApiState;
use crate::error::Failure;
use crate::executions::{bad_path, bad_query};
use crate::tokens::{Caller, audit};

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Value>, Failure> {
    caller.require(Scopes::READ)?;
    let all = state.workflows.deployments().await?;
    Ok(Json(json!({ "workflows": all })))
}

/// Deploying and removing: the scope, and a platform admin.
fn may_deploy(caller: &Caller) -> Result<(), Failure> {
    caller.require(Scopes::DEPLOY)?;
    if !caller.identity().is_platform_admin {
        return Err(Failure::Forbidden(
            "only a platform admin may deploy or remove workflows".into(),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
pub(crate) struct DeployParams {
    name: Option<String>,
}

pub(crate) async fn deploy(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<DeployParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Failure> {
    may_deploy(&caller)?;
    let Query(p) = query.map_err(bad_query)?;
    let name = p
        .name
        .ok_or_else(|| Failure::invalid("name", "name the workflow: POST /workflows?name=NAME"))?;
    validate_workflow_name(&name).map_err(ApiError::from)?;
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::TooLarge(format!(
                "the component is over {} bytes",
                state.limits.limits.max_component_bytes
            ))
        } else {
            Failure::Invalid {
                parameter: None,
                message: format!("cannot read the body: {}", e.body_text()),
            }
        }
    })?;
    // Checked as a runner will run it: compiled (off the runtime's threads) and linked
    // against the host's imports.
    let runner = state.runner.clone();
    let checked = bytes.clone();
    tokio::task::spawn_blocking(move || runner.load_bytes(&checked))
        .await
        .map_err(|e| ApiError::Internal(format!("the component check stopped: {e}")))?
        .map_err(|e| {
            Failure::invalid(
                "component",
                format!("not a workflow component: {}", one_line(&format!("{e:#}"))),
            )
        })?;
    let who = caller.identity();
    let deployment = Deployment {
        hash: bifrost_runner::component_hash(&bytes),
        size: bytes.len() as u64,
        deployed_by: who.user_id,
        deployed_by_name: storable_text(who.user_name.clone()),
        deployed_at: Utc::now().trunc_subsecs(6),
        name,
    };
    let (deployment, outcome) = state.workflows.deploy(&deployment, &bytes).await?;
    if outcome == DeployOutcome::Deployed {
        audit(
            &*state.access,
            who,
            Some(&caller.token),
            "workflow.deploy",
            deployment.name.clone(),
            json!({ "hash": deployment.hash, "size": deployment.size }),
        )
        .await?;
    }
    let status = match outcome {
        DeployOutcome::Deployed => StatusCode::CREATED,
        DeployOutcome::Unchanged => StatusCode::OK,
    };
    let mut body =
        serde_json::to_value(&deployment).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["outcome"] = json!(outcome);
    Ok((status, Json(body)))
}

/// An error's text on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) async fn remove(
    State(state): State<ApiState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, Failure> {
    may_deploy(&caller)?;
    let Path(name) = name.map_err(bad_path)?;
    state
        .workflows
        .remove_deployment(&name)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                Failure::NotFound(format!("no workflow is deployed as {name:?}"))
            }
            other => other.into(),
        })?;
    audit(
        &*state.access,
        caller.identity(),
        Some(&caller.token),
        "workflow.remove",
        name.clone(),
        json!({}),
    )
    .await?;
    Ok(Json(json!({ "removed": name })))
}
