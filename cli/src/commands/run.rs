//! `bifrost-runner run`: a workflow component as a new execution.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bifrost_core::{ApiError, ExecutionsService, Identity};
use bifrost_runner::backends::Backends;
use bifrost_runner::children::{ChildLimits, LocalChildren};
use bifrost_runner::{RunError, RunRequest, Runner, RunnerConfig};
use clap::Args;
use uuid::Uuid;

use crate::args::{CacheArgs, IdentityArgs, name_or_file_stem, read_input};
use crate::exit::Failure;
use crate::exit::exit_code;
use crate::human;
use crate::output;
use crate::output::View;

/// Run a workflow component as a new execution and print the finished execution.
#[derive(Args)]
pub struct RunArgs {
    /// The workflow component (.wasm).
    component: PathBuf,
    /// Input parameters: a JSON value, `@FILE` for a file's content, or `-` for standard
    /// input (inputs up to the 1 MiB limit, past what a command line holds).
    #[arg(long, default_value = "{}")]
    input: String,
    /// Name to record; defaults to the component's file name without extension.
    #[arg(long)]
    workflow_name: Option<String>,
    /// Form that triggered the run.
    #[arg(long)]
    form_id: Option<Uuid>,
    /// CLI session id.
    #[arg(long)]
    session_id: Option<String>,
    /// Deadline in seconds, 1 to 604800 (7 days).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    timeout_secs: u64,
    /// How long the end of the run waits for an unreachable store before giving up, in
    /// seconds, 0 to 86400 (1 day).
    #[arg(long, env = "BIFROST_STORE_RETRY_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    store_retry_secs: u64,
    /// The lease this runner holds on its execution, in seconds, 1 to 3600: it renews it
    /// every third of that while the execution runs; once it has run out, a sweep marks
    /// the execution `Stuck`.
    #[arg(long, env = "BIFROST_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease_secs: u64,
    /// Print the execution's log lines on stderr as they are written (the finished
    /// execution still goes to stdout).
    #[arg(long, short = 'f')]
    follow: bool,
    #[command(flatten)]
    who: IdentityArgs,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs the component; exit 0 on `Success`, 1 on any other final status.
pub async fn run(backends: Backends, args: RunArgs, view: View) -> Result<ExitCode, Failure> {
    let service = backends.service.clone();
    let identity = args.who.identity()?;
    let input = read_input(&args.input)?;
    let workflow_name = name_or_file_stem(args.workflow_name, &args.component, "--workflow-name")?;
    let config = RunnerConfig {
        deadline: Duration::from_secs(args.timeout_secs),
        store_retry: Duration::from_secs(args.store_retry_secs),
        lease: Duration::from_secs(args.lease_secs),
        compiled_cache: args.cache.config(),
        ..RunnerConfig::default()
    };
    let is_admin = identity.is_platform_admin;
    let lease = config.lease;
    let service_for_follow = service.clone();
    let runner = Runner::new(service.clone(), config)
        .map_err(|e| Failure::infrastructure(anyhow::anyhow!("{e:#}")))?;
    // The workflows it starts (`workflows`, 0.3.0) run in this process, as executions of
    // their own; what it leaves running when it ends is cancelled and recorded before the
    // process exits.
    let mut children = None;
    let runner = Arc::new_cyclic(|weak| {
        let local = Arc::new(LocalChildren::new(
            weak.clone(),
            backends.queue.clone(),
            backends.workflows.clone(),
            ChildLimits::default(),
        ));
        children = Some(local.clone());
        runner.with_children(local)
    });
    // Executions other runners left behind are swept beside this run, never before it:
    // their logs may take a while to move. What this process does not finish, the next
    // sweep takes over once its claim has run out.
    tokio::spawn(async move {
        if let Err(e) = service.sweep_stuck(lease).await {
            tracing::warn!(error = %e, "sweep for stuck executions failed");
        }
    });
    let workflow = runner.load_file(&args.component)?;
    let id = Uuid::new_v4();
    let who = identity.clone();
    let run = runner.run_with_id(
        &workflow,
        RunRequest {
            workflow_name,
            input,
            identity,
            form_id: args.form_id,
            parent_execution_id: None,
            session_id: args.session_id,
        },
        id,
    );
    let execution = if args.follow {
        follow_while(&service_for_follow, &who, id, view, run).await?
    } else {
        run.await?
    };
    if let Some(children) = &children {
        children.end_of(id).await;
    }
    // The moved log streams' deletion, before the process exits.
    runner.settle().await;
    // Printed as the caller may see it: variables and resource figures for admins.
    let execution = execution.redact_for(is_admin);
    output::json_line(&execution)?;
    Ok(exit_code(execution.status))
}

/// Runs `run` to its end while printing execution `id`'s log lines on stderr as they are
/// written, from the moment its row is recorded; returns what `run` returns.
pub async fn follow_while<T>(
    service: &ExecutionsService,
    who: &Identity,
    id: Uuid,
    view: View,
    run: impl Future<Output = Result<T, RunError>>,
) -> Result<T, Failure> {
    let id_text = id.to_string();
    let follow = async {
        // The row is written when the run starts.
        loop {
            match service.get(who, &id_text).await {
                Ok(_) => break,
                Err(ApiError::NotFound(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(e) => return Err(Failure::from(e)),
            }
        }
        bifrost_runner::follow::follow(service, who, &id_text, None, |entry| {
            anstream::eprintln!("{}", human::log_line(&entry, view.zone));
            std::future::ready(Ok::<_, Failure>(()))
        })
        .await
    };
    tokio::pin!(run, follow);
    let (mut ran, mut followed) = (None, false);
    while ran.is_none() || !followed {
        tokio::select! {
            // An error may leave the row short of a final status: follow no further.
            result = &mut run, if ran.is_none() => ran = Some(result?),
            outcome = &mut follow, if !followed => {
                followed = true;
                if let Err(f) = outcome {
                    anstream::eprintln!(
                        "bifrost-runner: the log is no longer followed, the run goes on: {:#}",
                        f.error
                    );
                }
            }
        }
    }
    Ok(ran.expect("the loop ends once the run has"))
}
