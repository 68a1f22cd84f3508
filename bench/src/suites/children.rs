//! 15. Workflows that start workflows, with real `bifrost-runner` processes: the round trip
//!     of `workflows::execute` of a trivial child, timed inside the parent, in `run` (the
//!     child in the same process) and under `serve` (the child through the queue), beside a
//!     submit-and-wait of the same child from outside; and a fan-out of 1,000 children:
//!     wall time and the process's peak memory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bifrost_runner::backends::Backends;
use serde_json::{Value, json};

use crate::report::Section;
use crate::stats::{fmt_secs, median, thousands};
use crate::suites::queue::{
    Processes, Serve, command, connect, deploy, ended_every, p99, submit_one,
};
use crate::{Ctx, guests};

/// Database of this benchmark, made afresh.
const DB: &str = "bifrost_bench_children";
/// Children of the fan-out.
const FAN: u32 = 1000;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    crate::on_multi_thread(|| run_here(ctx))
}

/// The high-water mark of a process's resident memory, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Runs `cmd` (a `bifrost-runner run`) to its end, reading its peak memory every 10 ms
/// (a high-water mark: the last read before it exits is its peak); the printed execution,
/// the wall seconds and the peak bytes.
fn watched_run(cmd: &mut Command) -> anyhow::Result<(Value, f64, u64)> {
    let clock = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        peak = peak.max(peak_rss(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = clock.elapsed().as_secs_f64();
    let out = child.wait_with_output()?;
    let printed: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        anyhow::anyhow!(
            "run printed no execution ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    anyhow::ensure!(
        printed["status"] == "Success",
        "run ended {}: {}",
        printed["status"],
        printed["error_message"]
    );
    Ok((printed, took, peak))
}

/// A parent of the bench workflow with `input`, submitted to the queue and waited for:
/// its result and the seconds from its submission to its end, read from the store.
async fn parent(b: &Backends, input: Value) -> anyhow::Result<(Value, f64)> {
    let id = submit_one(b, "bench", input).await?;
    let e = ended_every(b, id, Duration::from_millis(5)).await?;
    anyhow::ensure!(
        e.status.as_str() == "Success",
        "parent ended {}: {:?}",
        e.status,
        e.error_message
    );
    let took = e.completed_at.map_or(0.0, |c| {
        (c - e.created_at).num_microseconds().unwrap_or(0) as f64 / 1e6
    });
    Ok((e.result.unwrap_or(Value::Null), took))
}

/// The guest-timed round trips of a parent's result, in seconds.
fn round_trips(result: &Value) -> anyhow::Result<Vec<f64>> {
    let micros = result["micros"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no round trips in {result}"))?;
    Ok(micros
        .iter()
        .filter_map(Value::as_u64)
        .map(|m| m as f64 / 1e6)
        .collect())
}

/// One `bifrost-runner run` of a parent that executes the trivial child `n` times: the
/// first round trip (the process loads the child's compiled code) and the others.
fn run_execute(
    bin: &Path,
    env: &[(&str, String)],
    cache: &Path,
    n: usize,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let input = json!({"op": "execute", "child": "trivial", "n": n}).to_string();
    let (printed, _, _) =
        watched_run(command(bin, env, cache).args(["run", guests::BENCH, "--input", &input]))?;
    let mut all = round_trips(&printed["result"])?;
    anyhow::ensure!(!all.is_empty(), "no round trip");
    let first = all.remove(0);
    Ok((first, all))
}

async fn run_here(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "children",
        "15. Workflows that start workflows",
        "Real `bifrost-runner` processes (release build). *Round trip*: the bench workflow \
         calls `workflows::execute` of a trivial workflow (it returns its input) one call \
         after the other and times each call inside the guest; in `bifrost-runner run` (the \
         child compiled once, then run in the same process as an execution of its own; on \
         the embedded default and on PostgreSQL and Redis; the first call of each process, \
         which loads the child's compiled code from the cache, is shown apart) and under one \
         `serve` process (16 at once; the child goes through the queue on PostgreSQL and \
         Redis; the parent reads its row 5 ms after the start, then twice as long each time, \
         at most 200 ms apart, and at once when the process records an execution's end). Beside them, *from outside*: the same child submitted through \
         the library to the same `serve` process and its row read every 2 ms until it ends \
         (2 ms is also the floor of this measure's resolution). The four alternate in rounds. \
         *Fan-out*: a parent starts 1,000 trivial children and then waits for each; the wall \
         time and the peak resident memory (`VmHWM`) of the process, for `run` (every child \
         in that process, on the embedded default) and for a fresh `serve` process \
         (`--concurrency 8`; PostgreSQL and Redis).",
        &["what", "median", "p99", "samples"],
    );
    let Processes {
        bin,
        scratch: _scratch,
        cache,
        servers,
        embedded,
    } = Processes::new(ctx, DB).await?;
    for env in [&servers, &embedded] {
        deploy(&bin, env, &cache, guests::BENCH, "bench")?;
        deploy(&bin, env, &cache, guests::TRIVIAL, "trivial")?;
    }
    let b = connect(&servers).await?;

    let rounds = if ctx.quick { 2 } else { 5 };
    let per_round = if ctx.quick { 10 } else { 40 };
    let serve = Serve(
        command(&bin, &servers, &cache)
            .args(["serve", "--concurrency", "16", "--poll-ms", "1000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    // Warm: each process compiles (or loads from the cache) both workflows once.
    run_execute(&bin, &embedded, &cache, 2)?;
    run_execute(&bin, &servers, &cache, 2)?;
    parent(&b, json!({"op": "execute", "child": "trivial", "n": 2})).await?;

    let (mut run_local, mut run_servers, mut served, mut outside, mut firsts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (first, rest) = run_execute(&bin, &embedded, &cache, per_round + 1)?;
        run_local.extend(rest);
        firsts.push(first);
        let (first, rest) = run_execute(&bin, &servers, &cache, per_round + 1)?;
        run_servers.extend(rest);
        firsts.push(first);
        let (result, _) = parent(
            &b,
            json!({"op": "execute", "child": "trivial", "n": per_round}),
        )
        .await?;
        served.extend(round_trips(&result)?);
        for _ in 0..per_round {
            let clock = Instant::now();
            let id = submit_one(&b, "trivial", json!({})).await?;
            let e = ended_every(&b, id, Duration::from_millis(2)).await?;
            anyhow::ensure!(e.status.as_str() == "Success", "{:?}", e.error_message);
            outside.push(clock.elapsed().as_secs_f64());
        }
    }
    let outside_median = median(&outside);
    for (what, samples) in [
        ("`execute`, `run`, embedded default", &run_local),
        ("`execute`, `run`, PostgreSQL + Redis", &run_servers),
        ("`execute`, `serve`, through the queue", &served),
        ("submit and wait from outside, `serve`", &outside),
        ("first `execute` of a `run` process, both backends", &firsts),
    ] {
        section.row([
            what.to_owned(),
            fmt_secs(median(samples)),
            fmt_secs(p99(samples)),
            samples.len().to_string(),
        ]);
    }
    section.note(format!(
        "Under `serve`, `execute` from a parent takes {:.2}x a submit-and-wait from outside \
         (medians); in `run`, {:.2}x on the embedded default.",
        median(&served) / outside_median,
        median(&run_local) / outside_median,
    ));
    drop(serve);

    // Fan-out in `run`.
    let input = json!({"op": "fan", "child": "trivial", "n": FAN}).to_string();
    let (printed, took, peak) = watched_run(command(&bin, &embedded, &cache).args([
        "run",
        guests::BENCH,
        "--input",
        &input,
    ]))?;
    anyhow::ensure!(
        printed["result"]["items"] == json!(FAN),
        "run's fan-out: {}",
        printed["result"]
    );
    section.row([
        format!(
            "fan-out of {} children, `run`, embedded default: wall",
            thousands(FAN.into())
        ),
        fmt_secs(took),
        format!("peak memory {}", mib(peak)),
        "1".to_owned(),
    ]);

    // Fan-out under a fresh `serve`.
    let fresh = command(&bin, &servers, &cache)
        .args(["serve", "--concurrency", "8", "--poll-ms", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = fresh.id();
    let fresh = Serve(fresh);
    parent(&b, json!({"op": "fan", "child": "trivial", "n": 4})).await?;
    let before = peak_rss(pid).unwrap_or(0);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(peak_rss(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak.max(peak_rss(pid).unwrap_or(0))
        })
    };
    let clock = Instant::now();
    let (result, _) = parent(&b, json!({"op": "fan", "child": "trivial", "n": FAN})).await?;
    let took = clock.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = watcher.join().unwrap_or(0);
    anyhow::ensure!(result["items"] == json!(FAN), "serve's fan-out: {result}");
    drop(fresh);
    section.row([
        format!(
            "fan-out of {} children, `serve`: wall",
            thousands(FAN.into())
        ),
        fmt_secs(took),
        format!("peak memory {} ({} before)", mib(peak), mib(before)),
        "1".to_owned(),
    ]);
    section.note(format!(
        "The fan-out ran {:.0} children per second under `serve` (eight at once).",
        f64::from(FAN) / took
    ));
    Ok(section)
}
