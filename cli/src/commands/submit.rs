//! `bifrost-runner executions submit`: records an execution of a deployed workflow for the
//! queue, and with `--wait` waits for its end.

use std::process::ExitCode;
use std::time::Duration;

use bifrost_runner::RunRequest;
use bifrost_runner::backends::Backends;
use bifrost_runner::worker::submit;
use chrono::{DateTime, Utc};
use clap::Args;
use uuid::Uuid;

use crate::args::{IdentityArgs, read_input};
use crate::exit::{Failure, exit_code};
use crate::human;
use crate::output::{self, View};

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
            parent_execution_id: None,
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
            std::future::ready(Ok::<_, Failure>(()))
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
