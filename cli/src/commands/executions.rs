//! `bifrost-runner executions list|get|logs|submit|cancel`: what ran, with what result,
//! and what it logged, as the identity flags' user may see it; queueing and cancelling.

use std::process::ExitCode;

use bifrost_core::ExecutionsService;
use bifrost_core::model::ExecutionStatus;
use bifrost_core::query::ListFilter;
use bifrost_runner::backends::Backends;
use clap::{Args, Subcommand};

use crate::args::IdentityArgs;
use crate::commands::cancel::{CancelArgs, cancel_command};
use crate::commands::submit::{SubmitArgs, submit_command};
use crate::exit::{Failure, INTERRUPTED, exit_code};
use crate::human::{self, OutputFormat};
use crate::output::{self, View};

/// Query executions.
#[derive(Subcommand)]
pub enum ExecutionsCommand {
    /// List executions, newest first: a table on a terminal, else one JSON object a line.
    ///
    /// Example: bifrost-runner executions list --status Failed --start-date 2026-12-01
    List(ListArgs),
    /// Print one execution: a summary on a terminal, else a JSON object.
    ///
    /// Example: bifrost-runner executions get 0193a1f2-7c4e-7d2a-9b8e-1f2a3b4c5d6e
    Get(GetArgs),
    /// Print an execution's log entries: `time LEVEL message {metadata}` lines on a
    /// terminal, else one JSON object a line; with --follow, each new entry as it is written,
    /// until the execution ends (its final status on stderr; exit 0 on `Success`, 1 else).
    ///
    /// Example: bifrost-runner executions logs 0193a1f2-7c4e-7d2a-9b8e-1f2a3b4c5d6e --follow
    Logs(LogsArgs),
    /// Queue an execution of a deployed workflow for `serve` to run; print its id.
    ///
    /// Example: bifrost-runner executions submit hello --input '{"name": "Ada"}' --wait
    Submit(SubmitArgs),
    /// Cancel a pending, scheduled or running execution.
    ///
    /// Example: bifrost-runner executions cancel 0193a1f2-7c4e-7d2a-9b8e-1f2a3b4c5d6e
    Cancel(CancelArgs),
    /// Delete executions that ended longer ago than --older-than, with their log lines and
    /// variables, oldest first, a batch at a time; never one that has not ended. Also the
    /// stored workflow versions nothing uses, and (without --status) the tokens expired or
    /// revoked and the idempotency keys kept before the cut. Prints `{"deleted",
    /// "batches", "before", "statuses", "versions_deleted", "tokens_deleted",
    /// "keys_deleted", "seconds"}`; the purge is recorded in the audit record
    /// (`execution.purge`).
    ///
    /// Example: bifrost-runner executions purge --older-than 90d --status Success
    Purge(crate::commands::purge::PurgeArgs),
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
    /// Most entries (default 100, at most 1000); not with --follow.
    #[arg(long, conflicts_with = "follow")]
    count: Option<u32>,
    /// Print each new entry as it is written, until the execution has ended. Redis is
    /// blocked on (`XREAD BLOCK`); the embedded SQLite stream is read every 100 ms.
    #[arg(long, short = 'f')]
    follow: bool,
    #[command(flatten)]
    who: IdentityArgs,
}

/// Runs one `executions` command.
pub async fn run(
    backends: &Backends,
    command: ExecutionsCommand,
    view: View,
) -> Result<ExitCode, Failure> {
    let service = &backends.service;
    match command {
        ExecutionsCommand::List(args) => list(service, args, view).await?,
        ExecutionsCommand::Get(args) => get(service, args, view).await?,
        ExecutionsCommand::Logs(args) if args.follow => return follow(service, args, view).await,
        ExecutionsCommand::Logs(args) => logs(service, args, view).await?,
        ExecutionsCommand::Submit(args) => return submit_command(backends, args, view).await,
        ExecutionsCommand::Cancel(args) => cancel_command(backends, args).await?,
        ExecutionsCommand::Purge(args) => {
            crate::commands::purge::purge_command(backends, args).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(service: &ExecutionsService, args: ListArgs, view: View) -> Result<(), Failure> {
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
    match view.format {
        OutputFormat::Human => output::human(&human::table(&rows, view.zone)),
        OutputFormat::Json => output::json_array(&rows),
        OutputFormat::Jsonl => output::json_lines(&rows),
    }
}

async fn get(service: &ExecutionsService, args: GetArgs, view: View) -> Result<(), Failure> {
    let execution = service
        .get(&args.who.identity()?, &args.execution_id)
        .await?;
    match view.format {
        OutputFormat::Human => output::human(human::summary(&execution, view.zone).trim_end()),
        OutputFormat::Json | OutputFormat::Jsonl => output::json_line(&execution),
    }
}

async fn logs(service: &ExecutionsService, args: LogsArgs, view: View) -> Result<(), Failure> {
    let entries = service
        .logs(
            &args.who.identity()?,
            None,
            Some(&args.execution_id),
            args.start.as_deref(),
            args.count,
        )
        .await?;
    match view.format {
        OutputFormat::Human => entries
            .iter()
            .try_for_each(|e| output::human(&human::log_line(e, view.zone))),
        OutputFormat::Json => output::json_array(&entries),
        OutputFormat::Jsonl => output::json_lines(&entries),
    }
}

/// `logs --follow`: the entries as they come, then the final status on stderr; exits as
/// `run` does. Ctrl-C ends it quietly (exit 130).
async fn follow(
    service: &ExecutionsService,
    args: LogsArgs,
    view: View,
) -> Result<ExitCode, Failure> {
    if view.format == OutputFormat::Json {
        return Err(Failure::caller(anyhow::anyhow!(
            "--follow prints entries as they come: use --output jsonl or human, not json"
        )));
    }
    let who = args.who.identity()?;
    let followed = bifrost_runner::follow::follow(
        service,
        &who,
        &args.execution_id,
        args.start.as_deref(),
        |entry| {
            std::future::ready(match view.format {
                OutputFormat::Human => output::human(&human::log_line(&entry, view.zone)),
                _ => output::json_line(&entry),
            })
        },
    );
    let execution = tokio::select! {
        execution = followed => execution?,
        _ = tokio::signal::ctrl_c() => return Ok(ExitCode::from(INTERRUPTED)),
    };
    anstream::eprintln!("{}", human::final_status(&execution));
    Ok(exit_code(execution.status))
}
