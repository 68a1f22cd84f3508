//! `bifrost-runner wit-package`: the WIT package this runner implements, for tooling.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::exit::Failure;
use crate::output;

/// Write the `bifrost:executions` WIT package this runner implements as a binary WIT
/// package (`bifrost-executions@<version>.wasm`) into a directory, for component tooling
/// (`wasm-tools`, `wac`); print the file's path as a JSON string. Needs no backend.
#[derive(Args)]
pub struct WitPackageArgs {
    /// Directory to write to (created if missing).
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// The package version: 0.3.0 (the default, the newest: what the guest crate, the
    /// Python package and the virtual provider speak), 0.2.0 or 0.1.0; this runner runs
    /// components of all three.
    #[arg(long, default_value = "0.3.0")]
    version: String,
}

/// Writes the package.
pub fn run(args: &WitPackageArgs) -> Result<(), Failure> {
    let package = bifrost_runner::wit::package_version(&args.version).map_err(Failure::caller)?;
    let out_dir = &args.out_dir;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("creating {}", out_dir.display()))
        .map_err(Failure::caller)?;
    let path = out_dir.join(&package.file_name);
    std::fs::write(&path, &package.bytes)
        .with_context(|| format!("writing {}", path.display()))
        .map_err(Failure::caller)?;
    output::json_line(&path.display().to_string())
}
