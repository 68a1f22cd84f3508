//! 11. Python workflows: `get` and `list` (limit 50) through the `bifrost` Python package
//!     inside a component, against the Rust guest and the native call, in the same run; the
//!     component's size and build time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bifrost_core::Identity;
use serde_json::json;

use crate::report::Section;
use crate::stats::{fmt_ratio, fmt_secs, median};
use crate::suites::host_calls::two_guests_and_native;
use crate::suites::python::python;
use crate::{Ctx, guests, setup};

/// `bifrost-build` of the Python environment `scripts/bench` makes (the package installed
/// in it).
fn bifrost_build() -> anyhow::Result<PathBuf> {
    let python = PathBuf::from(python());
    let tool = python.with_file_name("bifrost-build");
    anyhow::ensure!(
        tool.exists(),
        "{} is missing: run scripts/bench, which installs the Python package (python/) \
         into its environment",
        tool.display()
    );
    Ok(tool)
}

/// Builds the benchmark workflow; seconds.
fn build(tool: &Path, out: &Path) -> anyhow::Result<f64> {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/python/guest_bench.py");
    let start = Instant::now();
    let done = Command::new(tool)
        .arg(source)
        .arg("-o")
        .arg(out)
        .env_remove("PYTHONPATH")
        .output()?;
    anyhow::ensure!(
        done.status.success(),
        "bifrost-build {source}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    Ok(start.elapsed().as_secs_f64())
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "python-guest",
        "11. Python workflows: the package against the Rust guest and native",
        "One Python workflow instance (`bench/python/guest_bench.py`, built with \
         `bifrost-build`) calls `executions.get` (or `executions.list(limit=50)`) n times in \
         a loop, mapping each answer to the reference SDK's dataclasses (times parsed into \
         `datetime`, JSON payloads decoded); the Rust guest (`tests/programs/src/bench.rs`) \
         makes the same calls through the Rust crate, and the native side the same \
         `ExecutionsService` call from Rust in the same process, as the same identity (a \
         platform admin), on the seeded million-row table. A sample is the time per call \
         over the n calls (a guest's includes its share of one instantiation); the three \
         are sampled in rotating order in each round.",
        &[
            "call",
            "Python guest (median)",
            "Rust guest (median)",
            "native (median)",
            "Python / Rust guest",
            "Python / native",
        ],
    );
    let tool = bifrost_build()?;
    let out_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench"));
    std::fs::create_dir_all(&out_dir)?;
    let component = out_dir.join("guest_bench.wasm");
    let mut build_times = Vec::new();
    for _ in 0..ctx.rounds(3) {
        build_times.push(build(&tool, &component)?);
    }
    let python_bytes = std::fs::metadata(&component)?.len();
    let rust_bytes = std::fs::metadata(guests::BENCH)?.len();

    let (service, _) = ctx.scale_service().await?;
    let runner = setup::runner(service.clone(), true)?;
    let rust = setup::load(&runner, guests::BENCH)?;
    let compile = Instant::now();
    let py = setup::load(&runner, component.to_str().unwrap())?;
    let python_compile = compile.elapsed().as_secs_f64();
    let who = Identity::operator();
    let n = ctx.scaled(200);
    let id = ctx.get_target().await?.to_string();

    for (call, input) in [
        ("get", json!({"op": "get", "id": id, "n": n})),
        (
            "list (limit 50)",
            json!({"op": "list", "n": n, "limit": 50}),
        ),
    ] {
        let (p, r, v) = two_guests_and_native(
            &runner,
            (&py, &rust),
            &service,
            &who,
            &input,
            call == "get",
            &id,
            n,
            ctx.rounds(11),
        )
        .await?;
        section.row([
            call.to_owned(),
            fmt_secs(p),
            fmt_secs(r),
            fmt_secs(v),
            fmt_ratio(p / r),
            fmt_ratio(p / v),
        ]);
    }
    section.note(format!("n = {n} calls per sample."));
    section.note(format!(
        "Component size: Python {:.1} MB (CPython and the standard library are inside), Rust \
         guest {:.2} MB. Build time of the Python component with `bifrost-build` (componentize-py \
         0.25.1): median {} of {} builds. Compiling it to native code when the runner loads it \
         the first time: {} (the compiled-code cache keeps that for later cold starts: \
         section 10).",
        python_bytes as f64 / 1e6,
        rust_bytes as f64 / 1e6,
        fmt_secs(median(&build_times)),
        build_times.len(),
        fmt_secs(python_compile),
    ));
    Ok(section)
}
