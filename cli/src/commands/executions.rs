//! `bifrost-runner executions list|get|logs|submit|cancel`: what ran, with what result,
//! and what it logged, as the identity flags' user may see it; queueing and cancelling.

use std::process::ExitCode;

use bifrost_core::ExecutionsService;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::query::ListFilter;
use bifrost_runner::backends::Backends;
use clap::{Args, Subcommand};

use crate::args::IdentityArgs;
use crate::commands::queue::{CancelArgs, SubmitArgs, cancel_command, submit_command};
use crate::exit::Failure;
use crate::output;

/// Query executions.
#[derive(Subcommand)]
pub enum ExecutionsCommand {
    /// List executions, newest first, one JSON object a line.
    List(ListArgs),
    /// Print one execution as a JSON object.
    Get(GetArgs),
    /// Print an execution's log entries, one JSON object a line.
    Logs(LogsArgs),
    /// Queue an execution of a deployed workflow for `serve` to run; print its id.
    ///
    /// Example: bifrost-runner executions submit hello --input '{"name": "Ada"}' --wait
    Submit(SubmitArgs),
    /// Cancel a pending, scheduled or running execution.
    ///
    /// Example: bifrost-runner executions cancel 0193a1f2-7c4e-7d2a-9b8e-1f2a3b4c5d6e
    Cancel(CancelArgs),
}

/// `executions list`.
#[derive(Args)]
pub struct ListArgs {
    /// Only this workflow.
    #[arg(long)]
    workflow_name: Option<String>,
    /// Only this status (e.g. Failed; "Completed" means Success).
    #[arg(long)]
    status: Option<String>,
    /// ISO-8601 lower bound on started_at.
    #[arg(long)]
    start_date: Option<String>,
    /// ISO-8601 upper bound on started_at (a date covers the whole day).
    #[arg(long)]
    end_date: Option<String>,
    /// Most executions (default 50, at most 1000).
    #[arg(long)]
    limit: Option<u32>,
    #[command(flatten)]
    who: IdentityArgs,
}

/// `executions get`.
#[derive(Args)]
pub struct GetArgs {
    /// Execution id.
    execution_id: String,
    #[command(flatten)]
    who: IdentityArgs,
}

/// `executions logs` (also spelled `logs`).
#[derive(Args)]
pub struct LogsArgs {
    /// Execution id.
    execution_id: String,
    /// First entry id (inclusive): `<ms>-<seq>`, `<ms>`, or `0` for the beginning.
    #[arg(long)]
    start: Option<String>,
    /// Most entries (default 100, at most 1000).
    #[arg(long)]
    count: Option<u32>,
    #[command(flatten)]
    who: IdentityArgs,
}

/// Runs one `executions` command.
pub async fn run(backends: &Backends, command: ExecutionsCommand) -> Result<ExitCode, Failure> {
    let service = &backends.service;
    match command {
        ExecutionsCommand::List(args) => list(service, args).await?,
        ExecutionsCommand::Get(args) => get(service, args).await?,
        ExecutionsCommand::Logs(args) => logs(service, args).await?,
        ExecutionsCommand::Submit(args) => return submit_command(backends, args).await,
        ExecutionsCommand::Cancel(args) => cancel_command(backends, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(service: &ExecutionsService, args: ListArgs) -> Result<(), Failure> {
    let status = args
        .status
        .map(|s| s.parse::<ExecutionStatus>())
        .transpose()
        .map_err(|e| Failure::caller(anyhow::Error::from(e).context("invalid argument status")))?;
    let filter = ListFilter {
        workflow_name: args.workflow_name,
        status,
        start_date: args.start_date,
        end_date: args.end_date,
        limit: args.limit,
    };
    let rows = service.list(&args.who.identity()?, &filter).await?;
    output::json_lines(&rows)
}

async fn get(service: &ExecutionsService, args: GetArgs) -> Result<(), Failure> {
    let execution = service
        .get(&args.who.identity()?, &args.execution_id)
        .await?;
    output::json_line(&execution)
}

async fn logs(service: &ExecutionsService, args: LogsArgs) -> Result<(), Failure> {
    let entries = service
        .logs(
            &args.who.identity()?,
            None,
            Some(&args.execution_id),
            args.start.as_deref(),
            args.count,
        )
        .await?;
    output::json_lines(&entries)
}
