//! `bifrost-runner sweep`: executions whose runner stopped become `Stuck`.

use std::time::Duration;

use bifrost_runner::backends::Backends;
use clap::Args;

use crate::exit::Failure;
use crate::output;

/// Mark `Stuck` the executions whose runner stopped (left `Running` with their lease run
/// out), move their logs to the store, and print their ids, one JSON string a line. (`run`
/// does this too, beside its own execution.)
#[derive(Args)]
pub struct SweepArgs {
    /// How long this sweep holds each execution it takes over while it moves its log, in
    /// seconds, 1 to 3600.
    #[arg(long, env = "BIFROST_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease_secs: u64,
}

/// Sweeps once.
pub async fn run(backends: &Backends, args: SweepArgs) -> Result<(), Failure> {
    // The children a stuck execution started are cancelled with it.
    let ids = bifrost_runner::worker::sweep(
        &backends.service,
        Duration::from_secs(args.lease_secs),
        &*backends.queue,
    )
    .await?;
    output::json_lines(&ids)
}
