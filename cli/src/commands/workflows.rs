//! `bifrost-runner workflows deploy|list|remove`: workflows deployed by name, stored in the
//! execution store (content-addressed by SHA-256) so that any runner process can run them.
//!
//! Deploying and removing are a platform admin's acts: the identity flags must name one (the
//! operator, with no flag, is).

use std::path::PathBuf;

use bifrost_core::Identity;
use bifrost_core::error::StoreError;
use bifrost_core::query::validate_workflow_name;
use bifrost_core::storable::storable_text;
use bifrost_core::workflows::{DeployOutcome, Deployment, WorkflowStore};
use bifrost_runner::{Runner, RunnerConfig};
use chrono::{SubsecRound, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::args::{CacheArgs, IdentityArgs, name_or_file_stem};
use crate::exit::Failure;
use crate::output;

/// Deploy, list and remove workflows.
#[derive(Subcommand)]
pub enum WorkflowsCommand {
    /// Check a workflow component and deploy it under a name; print the deployment.
    ///
    /// Example: bifrost-runner workflows deploy hello.wasm --name hello
    Deploy(DeployArgs),
    /// List the deployed workflows, one JSON object a line, by name.
    ///
    /// Example: bifrost-runner workflows list
    List,
    /// Remove a deployed workflow's name (its versions stay stored for the executions that
    /// ran them).
    ///
    /// Example: bifrost-runner workflows remove hello
    Remove(RemoveArgs),
}

/// `workflows deploy`.
#[derive(Args)]
pub struct DeployArgs {
    /// The workflow component (.wasm), of the world `bifrost:executions/workflow`.
    component: PathBuf,
    /// The name to deploy it under; defaults to the file name without extension.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    who: IdentityArgs,
    #[command(flatten)]
    cache: CacheArgs,
}

/// `workflows remove`.
#[derive(Args)]
pub struct RemoveArgs {
    /// The workflow's name.
    name: String,
    #[command(flatten)]
    who: IdentityArgs,
}

/// A deployment as printed by `deploy`.
#[derive(Serialize)]
struct Deployed<'a> {
    #[serde(flatten)]
    deployment: &'a Deployment,
    outcome: DeployOutcome,
}

/// A store error: a missing name is the caller's mistake, the rest the infrastructure's.
fn store_failure(e: StoreError, name: &str) -> Failure {
    match e {
        StoreError::NotFound => {
            Failure::caller(anyhow::anyhow!("no workflow is deployed as {name:?}"))
        }
        other => Failure::infrastructure(anyhow::anyhow!("{other}")),
    }
}

fn require_admin(who: &Identity, what: &str) -> Result<(), Failure> {
    if who.is_platform_admin {
        Ok(())
    } else {
        Err(Failure::caller(anyhow::anyhow!(
            "permission denied: only a platform admin may {what} workflows"
        )))
    }
}

/// Runs one `workflows` command.
pub async fn run(workflows: &dyn WorkflowStore, command: WorkflowsCommand) -> Result<(), Failure> {
    match command {
        WorkflowsCommand::Deploy(args) => deploy(workflows, args).await,
        WorkflowsCommand::List => {
            let all = workflows
                .deployments()
                .await
                .map_err(|e| store_failure(e, ""))?;
            for d in &all {
                output::json_line(d)?;
            }
            Ok(())
        }
        WorkflowsCommand::Remove(args) => {
            require_admin(&args.who.identity()?, "remove")?;
            workflows
                .remove_deployment(&args.name)
                .await
                .map_err(|e| store_failure(e, &args.name))?;
            output::json_line(&serde_json::json!({ "removed": args.name }))
        }
    }
}

async fn deploy(workflows: &dyn WorkflowStore, args: DeployArgs) -> Result<(), Failure> {
    let who = args.who.identity()?;
    require_admin(&who, "deploy")?;
    let name = name_or_file_stem(args.name, &args.component, "--name")?;
    validate_workflow_name(&name)
        .map_err(|e| Failure::caller(anyhow::anyhow!("--name: {}", e.reason)))?;
    let bytes = std::fs::read(&args.component)
        .map_err(|e| Failure::caller(anyhow::anyhow!("{}: {e}", args.component.display())))?;
    // Checked as a runner will run it: compiled (which fills the compiled-code cache for
    // the runners of this machine) and linked against the host's imports.
    let runner = Runner::new(
        bifrost_core::ExecutionsService::new(
            std::sync::Arc::new(bifrost_core::memory::MemoryStore::new()),
            std::sync::Arc::new(bifrost_core::logs::MemoryLogStream::new()),
        ),
        RunnerConfig {
            pooling: false,
            max_instances: 1,
            compiled_cache: args.cache.config(),
            ..RunnerConfig::default()
        },
    )
    .map_err(|e| Failure::infrastructure(anyhow::anyhow!("{e:#}")))?;
    runner.load_bytes(&bytes).map_err(|e| {
        Failure::caller(anyhow::anyhow!(
            "{}: not a workflow component: {e:#}",
            args.component.display()
        ))
    })?;
    let deployment = Deployment {
        hash: bifrost_runner::component_hash(&bytes),
        size: bytes.len() as u64,
        deployed_by: who.user_id,
        deployed_by_name: storable_text(who.user_name),
        deployed_at: Utc::now().trunc_subsecs(6),
        name,
    };
    let (deployment, outcome) = workflows
        .deploy(&deployment, &bytes)
        .await
        .map_err(|e| store_failure(e, &deployment.name))?;
    output::json_line(&Deployed {
        deployment: &deployment,
        outcome,
    })
}
