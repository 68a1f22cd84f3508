//! 18. JavaScript workflows: `get` and `list` (limit 50) through the `bifrost` npm package
//!     inside a component, against the Rust guest and the native call, in the same run; the
//!     component's size, build time, first compile, and the cold start of a `run` process
//!     compiled and cached, beside the Rust guest's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bifrost_core::Identity;
use serde_json::json;

use crate::report::Section;
use crate::stats::{fmt_ratio, fmt_secs, median};
use crate::suites::host_calls::two_guests_and_native;
use crate::suites::queue::{Processes, command, timed_run};
use crate::{Ctx, guests, setup};

/// The database the cold starts' `run` processes need none of (they run on the embedded
/// default), made for [`Processes`].
const DB: &str = "bifrost_bench_js";

/// Builds the benchmark workflow with the package's `bifrost-build`; seconds.
fn build(out: &Path) -> anyhow::Result<f64> {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/js/guest_bench.js");
    let tool = Path::new(guests::JS_PACKAGE).join("bin/bifrost-build.js");
    let start = Instant::now();
    let done = Command::new("node")
        .arg(&tool)
        .arg(source)
        .arg("-o")
        .arg(out)
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
        "js-guest",
        "18. JavaScript workflows: the package against the Rust guest and native",
        "One JavaScript workflow instance (`bench/js/guest_bench.js`, built with the npm \
         package's `bifrost-build`: esbuild, then componentize-js 0.23.0, StarlingMonkey) \
         calls `executions.get` (or `executions.list({ limit: 50 })`) n times in a loop, \
         each answer mapped to the package's plain objects (times as `Timestamp`s, JSON \
         payloads parsed); the Rust guest (`tests/programs/src/bench.rs`) makes the same calls \
         through the Rust crate, and the native side the same `ExecutionsService` call from \
         Rust in the same process, as the same identity (a platform admin), on the seeded \
         million-row table. A sample is the time per call over the n calls (a guest's \
         includes its share of one instantiation); the three are sampled in rotating order \
         in each round. The rows *the bindings alone* call the component's imports directly in \
         both guests (`get_raw`, `list_raw`): the boundary and each language's generated \
         bindings, without the package's (or the crate's) mapping into its own values. \
         *Cold start*: the wall time of a whole `bifrost-runner run` process \
         on the embedded default running the workflow once (`list` of 50, once), with the \
         component compiled from scratch (`--no-cache`) and loaded from a warm compiled-code \
         cache, alternating, for the JavaScript and the Rust workflow in turn.",
        &[
            "call",
            "JavaScript guest (median)",
            "Rust guest (median)",
            "native (median)",
            "JavaScript / Rust guest",
            "JavaScript / native",
        ],
    );
    let out_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench"));
    std::fs::create_dir_all(&out_dir)?;
    let component = out_dir.join("js_guest_bench.wasm");
    let mut build_times = Vec::new();
    for _ in 0..ctx.rounds(3) {
        build_times.push(build(&component)?);
    }
    let js_bytes = std::fs::metadata(&component)?.len();
    let rust_bytes = std::fs::metadata(guests::BENCH)?.len();

    let (service, _) = ctx.scale_service().await?;
    let runner = setup::runner(service.clone(), true)?;
    let rust = setup::load(&runner, guests::BENCH)?;
    let compile = Instant::now();
    let js = setup::load(&runner, component.to_str().unwrap())?;
    let js_compile = compile.elapsed().as_secs_f64();
    let who = Identity::operator();
    let n = ctx.scaled(200);
    let id = ctx.get_target().await?.to_string();

    for (call, input) in [
        ("get", json!({"op": "get", "id": id, "n": n})),
        (
            "list (limit 50)",
            json!({"op": "list", "n": n, "limit": 50}),
        ),
        (
            "get, the bindings alone",
            json!({"op": "get_raw", "id": id, "n": n}),
        ),
        (
            "list (limit 50), the bindings alone",
            json!({"op": "list_raw", "n": n}),
        ),
    ] {
        let (j, r, v) = two_guests_and_native(
            &runner,
            (&js, &rust),
            &service,
            &who,
            &input,
            call.starts_with("get"),
            &id,
            n,
            ctx.rounds(11),
        )
        .await?;
        section.row([
            call.to_owned(),
            fmt_secs(j),
            fmt_secs(r),
            fmt_secs(v),
            fmt_ratio(j / r),
            fmt_ratio(j / v),
        ]);
    }
    section.note(format!("n = {n} calls per sample."));
    drop(runner);

    // Cold start of a `run` process, compiled and cached, the two workflows in turn.
    let procs = Processes::new(ctx, DB).await?;
    let input = json!({"op": "list", "n": 1, "limit": 50}).to_string();
    let mut starts = Vec::new();
    for path in [component.clone(), PathBuf::from(guests::BENCH)] {
        let run = |no_cache: bool| {
            let mut cmd = command(&procs.bin, &procs.embedded, &procs.cache);
            cmd.arg("run").arg(&path).args(["--input", &input]);
            if no_cache {
                cmd.arg("--no-cache");
            }
            cmd
        };
        // Warm the cache (and make the embedded default's file).
        timed_run(&mut run(false))?;
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for _ in 0..ctx.rounds(5) {
            cold.push(timed_run(&mut run(true))?);
            warm.push(timed_run(&mut run(false))?);
        }
        starts.push((median(&cold), median(&warm), cold.len()));
    }
    let [(jc, jw, rounds), (rc, rw, _)] = starts[..] else {
        unreachable!("two workflows")
    };
    section.row([
        "cold start of `run`: compiled / cached".to_owned(),
        format!("{} / {}", fmt_secs(jc), fmt_secs(jw)),
        format!("{} / {}", fmt_secs(rc), fmt_secs(rw)),
        String::new(),
        format!("{} / {}", fmt_ratio(jc / rc), fmt_ratio(jw / rw)),
        String::new(),
    ]);
    section.note(format!(
        "Cold starts: medians of {rounds} of each, alternating compiled and cached; the \
         JavaScript process's cached start is {} faster than its compiled one.",
        fmt_ratio(jc / jw),
    ));
    section.note(format!(
        "Component size: JavaScript {:.1} MB (the SpiderMonkey engine, StarlingMonkey, is \
         inside), Rust guest {:.2} MB. Build time of the JavaScript component with \
         `bifrost-build`: median {} of {} builds. Compiling it to native code when the runner \
         loads it the first time: {} (the compiled-code cache keeps that for later cold \
         starts: the row above).",
        js_bytes as f64 / 1e6,
        rust_bytes as f64 / 1e6,
        fmt_secs(median(&build_times)),
        build_times.len(),
        fmt_secs(js_compile),
    ));
    Ok(section)
}
