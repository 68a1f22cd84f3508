//! `bifrost-runner executions submit|cancel` and `bifrost-runner serve`: the queue of
//! executions of deployed workflows, and the worker that runs them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bifrost_core::model::ExecutionStatus;
use bifrost_core::queue::CancelOutcome;
use bifrost_runner::backends::Backends;
use bifrost_runner::worker::{Worker, WorkerConfig, submit};
use bifrost_runner::{RunRequest, Runner, RunnerConfig};
use chrono::{DateTime, Utc};
use clap::Args;
use uuid::Uuid;

use crate::args::{CacheArgs, IdentityArgs, read_input};
use crate::commands::executions::{View, exit_code};
use crate::exit::Failure;
use crate::human;
use crate::output;

/// `executions submit`.
#[derive(Args)]
pub struct SubmitArgs {
    /// The deployed workflow's name.
    workflow_name: String,
    /// Input parameters: a JSON value, `@FILE` for a file's content, or `-` for standard
    /// input.
    #[arg(long, default_value = "{}")]
    input: String,
    /// When it is due (RFC 3339, e.g. 2026-12-24T18:00:00Z); `Scheduled` until then.
    #[arg(long)]
    at: Option<String>,
    /// Wait for the final status and print the execution, exiting as `run` does (0 on
    /// `Success`, 1 on any other final status).
    #[arg(long)]
    wait: bool,
    /// With --wait: print the execution's log lines on stderr as they are written.
    #[arg(long, short = 'f', requires = "wait")]
    follow: bool,
    /// Form that triggered the run.
    #[arg(long)]
    form_id: Option<Uuid>,
    /// CLI session id.
    #[arg(long)]
    session_id: Option<String>,
    #[command(flatten)]
    who: IdentityArgs,
}

/// `executions cancel`.
#[derive(Args)]
pub struct CancelArgs {
    /// Execution id.
    execution_id: String,
    #[command(flatten)]
    who: IdentityArgs,
}

/// Records a submitted execution; prints its id (`{"execution_id": ...}`), or with
/// `--wait` the finished execution.
pub async fn submit_command(
    backends: &Backends,
    args: SubmitArgs,
    view: View,
) -> Result<ExitCode, Failure> {
    let identity = args.who.identity()?;
    let input = read_input(&args.input)?;
    let at = args
        .at
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    Failure::caller(anyhow::anyhow!(
                        "--at {t:?} is not an RFC 3339 time (2026-12-24T18:00:00Z): {e}"
                    ))
                })
        })
        .transpose()?;
    let is_admin = identity.is_platform_admin;
    let id = submit(
        &*backends.queue,
        &*backends.workflows,
        RunRequest {
            workflow_name: args.workflow_name,
            input,
            identity: identity.clone(),
            form_id: args.form_id,
            session_id: args.session_id,
        },
        at,
        &bifrost_core::limits::Limits::default(),
    )
    .await?;
    if !args.wait {
        output::json_line(&serde_json::json!({ "execution_id": id }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let id_text = id.to_string();
    let execution = if args.follow {
        bifrost_runner::follow::follow(&backends.service, &identity, &id_text, None, |entry| {
            anstream::eprintln!("{}", human::log_line(&entry, view.zone));
            Ok::<_, Failure>(())
        })
        .await?
    } else {
        loop {
            let execution = backends.service.get(&identity, &id_text).await?;
            if execution.status.is_final() {
                break execution;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let status = execution.status;
    output::json_line(&execution.redact_for(is_admin))?;
    Ok(exit_code(status))
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

/// `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Executions run at once by this process.
    #[arg(long, env = "BIFROST_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    concurrency: u32,
    /// On SIGTERM or SIGINT, how long running executions may take to finish before they
    /// are cancelled, in seconds.
    #[arg(long, env = "BIFROST_GRACE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    grace_secs: u64,
    /// Deadline of each execution in seconds, 1 to 604800 (7 days).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    timeout_secs: u64,
    /// The lease this process holds on each execution it runs, in seconds (renewed every
    /// third of it); once another process sees it run out, it marks the execution `Stuck`.
    #[arg(long, env = "BIFROST_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease_secs: u64,
    /// How often to look for due executions without a notification, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    poll_ms: u64,
    /// Serve `/healthz` and Prometheus `/metrics` on this address (e.g. 127.0.0.1:9464).
    #[arg(long, env = "BIFROST_LISTEN", value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs submitted executions until SIGTERM or SIGINT; then drains and prints what it did.
pub async fn serve(backends: Backends, args: ServeArgs) -> Result<(), Failure> {
    // Bound first: a busy port is the operator's mistake, reported before anything runs.
    let listener = match args.listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure::caller(anyhow::anyhow!("--listen {addr}: {e}")))?,
        ),
        None => None,
    };
    let metrics = Arc::new(crate::commands::ops::Metrics::new());
    let runner = Runner::new(
        backends.service.clone(),
        RunnerConfig {
            deadline: Duration::from_secs(args.timeout_secs),
            lease: Duration::from_secs(args.lease_secs),
            max_instances: args.concurrency,
            compiled_cache: args.cache.config(),
            ..RunnerConfig::default()
        },
    )
    .map_err(|e| Failure::infrastructure(anyhow::anyhow!("{e:#}")))?
    .with_events(metrics.clone());
    let runner = Arc::new(runner);
    if let Some(listener) = listener {
        crate::commands::ops::spawn(listener, metrics, runner.clone(), backends.queue.clone());
    }
    let worker = Worker::new(
        runner,
        backends.queue.clone(),
        backends.workflows.clone(),
        WorkerConfig {
            concurrency: args.concurrency as usize,
            poll: Duration::from_millis(args.poll_ms),
            grace: Duration::from_secs(args.grace_secs),
            sweep_every: Duration::from_secs(args.lease_secs.max(3) / 3),
            ..WorkerConfig::default()
        },
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::infrastructure(anyhow::anyhow!("cannot handle SIGTERM: {e}")))?;
    tracing::info!(concurrency = args.concurrency, "serving");
    let report = worker
        .run(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await;
    output::json_line(&serde_json::json!({
        "claimed": report.claimed,
        "finished": report.finished,
        "cancelled_at_shutdown": report.cancelled_at_shutdown,
    }))
}
