//! `bifrost-runner executions purge`: deletes executions that ended long enough ago.

use bifrost_core::Identity;
use bifrost_core::model::ExecutionStatus;
use bifrost_runner::backends::Backends;
use bifrost_runner::retention::{PURGE_BATCH, Purge, purge};
use chrono::Utc;
use clap::Args;

use crate::exit::Failure;
use crate::output;

/// `executions purge`.
#[derive(Args)]
pub struct PurgeArgs {
    /// Delete executions that ended longer ago than this: a number and a unit (90d, 12h,
    /// 30m, 45s).
    #[arg(long)]
    older_than: String,
    /// Only executions that ended with this status (repeatable; any spelling `list`
    /// takes); by default every status an execution can end with. A status of an
    /// execution that has not ended is refused.
    #[arg(long = "status")]
    statuses: Vec<String>,
    /// Executions one statement deletes (1 to 100,000).
    #[arg(long, default_value_t = PURGE_BATCH, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch: u32,
    /// Milliseconds to pause after each statement that deleted a whole batch, so that a
    /// long purge leaves a busy database room for other work (0 to 60,000; default 0:
    /// back to back).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pause_ms: u64,
    /// Also delete the stored workflow versions first stored longer ago than this that no
    /// name points at and no remaining execution ran (90d, 12h, 30m, 45s).
    #[arg(long, default_value = "7d")]
    version_grace: String,
}

/// Purges as the operator, the one who holds the database. Prints the
/// [`PurgeReport`](bifrost_runner::retention::PurgeReport).
pub async fn purge_command(backends: &Backends, args: PurgeArgs) -> Result<(), Failure> {
    let age = crate::args::age(&args.older_than)
        .map_err(|e| Failure::caller(anyhow::anyhow!("--older-than {:?}: {e}", args.older_than)))?;
    let mut statuses = Vec::new();
    for text in &args.statuses {
        let status: ExecutionStatus = text
            .parse()
            .map_err(|e| Failure::caller(anyhow::anyhow!("--status: {e}")))?;
        if !status.is_final() {
            return Err(Failure::caller(anyhow::anyhow!(
                "--status {status}: an execution that has not ended is never purged"
            )));
        }
        statuses.push(status);
    }
    let grace = crate::args::age(&args.version_grace).map_err(|e| {
        Failure::caller(anyhow::anyhow!(
            "--version-grace {:?}: {e}",
            args.version_grace
        ))
    })?;
    let now = Utc::now();
    let report = purge(
        &*backends.queue,
        &*backends.workflows,
        &*backends.access,
        &Purge {
            before: now - age,
            statuses,
            batch: args.batch,
            versions_before: Some(now - grace),
            pause: std::time::Duration::from_millis(args.pause_ms),
        },
        &Identity::operator(),
        "cli",
        true,
    )
    .await
    .map_err(|e| Failure::from(bifrost_core::ApiError::from(e)))?;
    output::json_line(&report)
}
