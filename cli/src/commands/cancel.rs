//! `bifrost-runner executions cancel`: cancels a queued or running execution.

use bifrost_core::model::ExecutionStatus;
use bifrost_core::queue::CancelOutcome;
use bifrost_runner::backends::Backends;
use chrono::Utc;
use clap::Args;

use crate::args::IdentityArgs;
use crate::exit::Failure;
use crate::output;

/// `executions cancel`.
#[derive(Args)]
pub struct CancelArgs {
    /// Execution id.
    execution_id: String,
    #[command(flatten)]
    who: IdentityArgs,
}

/// Cancels an execution the caller may see; prints `{"execution_id", "status"}`.
pub async fn cancel_command(backends: &Backends, args: CancelArgs) -> Result<(), Failure> {
    let who = args.who.identity()?;
    // The same visibility rule as `get`: not found, or not the caller's to see.
    let execution = backends.service.get(&who, &args.execution_id).await?;
    let outcome = backends
        .queue
        .cancel(execution.id, Utc::now())
        .await
        .map_err(|e| Failure::from(bifrost_core::ApiError::from(e)))?
        .map_err(Failure::caller)?;
    let status = match outcome {
        CancelOutcome::Cancelled => ExecutionStatus::Cancelled,
        CancelOutcome::Cancelling => ExecutionStatus::Cancelling,
    };
    output::json_line(&serde_json::json!({
        "execution_id": execution.id,
        "status": status,
    }))
}
