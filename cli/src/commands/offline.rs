//! `bifrost-runner offline`: a workflow composed with the virtual provider, without a
//! backend.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::args::{CacheArgs, read_input};
use crate::exit::Failure;
use crate::output;

/// Run a workflow composed with the virtual provider (`wac plug --plug
/// bifrost_provider.wasm WORKFLOW.wasm -o OFFLINE.wasm`) in plain wasmtime with only WASI,
/// its executions answered from a JSON fixture; print its result as one JSON line. Needs
/// no backend and records nothing. Exit 1 when the workflow returns an error.
#[derive(Args)]
pub struct OfflineArgs {
    /// The composed component.
    component: PathBuf,
    /// The provider's fixture (JSON); its directory is visible to the component.
    #[arg(long)]
    fixture: PathBuf,
    /// Input parameters: a JSON value, `@FILE` for a file's content, or `-` for standard
    /// input.
    #[arg(long, default_value = "{}")]
    input: String,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs the composed component.
pub async fn run(args: &OfflineArgs) -> Result<ExitCode, Failure> {
    let input = read_input(&args.input)?.to_string();
    let bytes = std::fs::read(&args.component)
        .with_context(|| format!("reading {}", args.component.display()))
        .map_err(Failure::caller)?;
    let outcome =
        bifrost_runner::offline::run_composed(&bytes, &args.fixture, &input, args.cache.config())
            .await
            .map_err(Failure::caller)?;
    match outcome {
        Ok(result) => {
            // The workflow's result is JSON text; printed as one line like every output.
            match serde_json::from_str::<serde_json::Value>(&result) {
                Ok(value) => output::json_line(&value)?,
                Err(_) => output::json_line(&result)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("bifrost-runner: the workflow failed: {message}");
            Ok(ExitCode::from(1))
        }
    }
}
