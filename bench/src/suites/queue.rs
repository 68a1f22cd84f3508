//! 10. The queue and the compiled-code cache, with real `bifrost-runner` processes: how
//!     soon a submitted execution runs, how fast `serve` processes drain a queue, the start
//!     of a process whose component is in the compiled-code cache against one that compiles
//!     it, and how long executions take while the process compiles a Python workflow cold.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bifrost_core::Identity;
use bifrost_runner::RunRequest;
use bifrost_runner::backends::{BackendConfig, Backends};
use serde_json::json;

use crate::report::{Section, verdict};
use crate::stats::{fmt_rate, fmt_ratio, fmt_secs, median};
use crate::{Ctx, guests};

/// Database of this benchmark, made afresh.
const DB: &str = "bifrost_bench_queue";
/// Target of the p99 of hello's submit-to-finish latency while a Python workflow compiles
/// cold in the same process, as a multiple of the quiet p99.
const TARGET_BUSY_P99: f64 = 2.0;
/// Targets of the cached start of a process (wall time).
const TARGET_CACHED_RUST: f64 = 0.050;
const TARGET_CACHED_PYTHON: f64 = 0.500;

/// The `bifrost-runner` binary beside this one (`scripts/bench` builds both).
pub(crate) fn runner_binary() -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory of the benchmark binary"))?
        .join("bifrost-runner");
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it (`cargo build --release -p bifrost-cli`; scripts/bench does)",
        path.display()
    );
    Ok(path)
}

/// The command with the backends of `env` (`DATABASE_URL`, `REDIS_URL`, both or none).
pub(crate) fn command(bin: &Path, env: &[(&str, String)], cache: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("BIFROST_CACHE_DIR", cache)
        .env("BIFROST_LOG_PREFIX", crate::setup::KEY_PREFIX);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// What a benchmark of `bifrost-runner` processes needs: the binary, a scratch directory
/// (holding the compiled-code cache and the embedded default's data), and the environment
/// of each backend: PostgreSQL (database `db`, made afresh) and Redis, and the embedded
/// default.
pub(crate) struct Processes {
    pub(crate) bin: PathBuf,
    pub(crate) scratch: tempfile::TempDir,
    pub(crate) cache: PathBuf,
    pub(crate) servers: Vec<(&'static str, String)>,
    pub(crate) embedded: Vec<(&'static str, String)>,
}

impl Processes {
    pub(crate) async fn new(ctx: &Ctx, db: &str) -> anyhow::Result<Self> {
        let bin = runner_binary()?;
        let scratch = tempfile::tempdir()?;
        let cache = scratch.path().join("cache");
        let pg_url = ctx.servers.database(db, true).await?;
        let servers = vec![
            ("DATABASE_URL", pg_url),
            ("REDIS_URL", ctx.servers.redis_url.clone()),
        ];
        let embedded = vec![(
            "BIFROST_DATA_DIR",
            scratch.path().join("data").display().to_string(),
        )];
        Ok(Self {
            bin,
            scratch,
            cache,
            servers,
            embedded,
        })
    }
}

/// `workflows deploy FILE --name NAME` with the backends of `env`.
pub(crate) fn deploy(
    bin: &Path,
    env: &[(&str, String)],
    cache: &Path,
    file: &str,
    name: &str,
) -> anyhow::Result<()> {
    let out = command(bin, env, cache)
        .args(["workflows", "deploy", file, "--name", name])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "deploy {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

pub(crate) struct Serve(pub(crate) Child);

/// `serve --listen 127.0.0.1:0` with `extra` arguments and the backends of `env`: the
/// process, its pid and the address it says it listens on (`http://ADDR`).
pub(crate) fn listen(
    bin: &Path,
    env: &[(&str, String)],
    cache: &Path,
    extra: &[&str],
) -> anyhow::Result<(Serve, u32, String)> {
    let mut child = command(bin, env, cache)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().expect("piped")),
        &mut line,
    )?;
    let pid = child.id();
    let serve = Serve(child);
    let base = line
        .trim()
        .strip_prefix("bifrost-runner: listening on ")
        .ok_or_else(|| anyhow::anyhow!("serve did not say where it listens: {line:?}"))?
        .to_owned();
    Ok((serve, pid, base))
}

/// Appends one INFO line with `message` to the stream of `id`, its id the wall clock's
/// millisecond or just after `last`; the line's id.
pub(crate) async fn append_now(
    logs: &dyn bifrost_core::logs::LogStream,
    id: uuid::Uuid,
    last: Option<bifrost_core::model::StreamId>,
    message: String,
) -> anyhow::Result<bifrost_core::model::StreamId> {
    use bifrost_core::model::{LogEntry, LogLevel, StreamId};
    let now = chrono::Utc::now();
    let next = StreamId {
        ms: now.timestamp_millis() as u64,
        seq: 0,
    };
    let next = match last {
        Some(l) if next <= l => l.successor().expect("not the largest id"),
        _ => next,
    };
    let entry = LogEntry {
        id: next,
        execution_id: id,
        level: LogLevel::Info,
        message,
        metadata: None,
        timestamp: now,
    };
    logs.append(std::slice::from_ref(&entry)).await?;
    Ok(next)
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn serve(bin: &Path, env: &[(&str, String)], cache: &Path, poll_ms: u64) -> anyhow::Result<Serve> {
    serve_with(bin, env, cache, poll_ms, 16, &[])
}

fn serve_with(
    bin: &Path,
    env: &[(&str, String)],
    cache: &Path,
    poll_ms: u64,
    concurrency: u32,
    extra: &[String],
) -> anyhow::Result<Serve> {
    Ok(Serve(
        command(bin, env, cache)
            .args([
                "serve",
                "--concurrency",
                &concurrency.to_string(),
                "--poll-ms",
            ])
            .arg(poll_ms.to_string())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    ))
}

pub(crate) async fn connect(env: &[(&str, String)]) -> anyhow::Result<Backends> {
    let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    Ok(BackendConfig {
        database_url: get("DATABASE_URL"),
        redis_url: get("REDIS_URL"),
        log_prefix: Some(crate::setup::KEY_PREFIX.into()),
        data_dir: get("BIFROST_DATA_DIR").map(PathBuf::from),
        db_connections: None,
        db_pooler: Default::default(),
        db_direct_url: None,
    }
    .connect_all()
    .await?)
}

pub(crate) async fn submit(b: &Backends, n: usize) -> anyhow::Result<Vec<uuid::Uuid>> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(submit_one(b, "bench", json!({"op": "small"})).await?);
    }
    Ok(ids)
}

pub(crate) async fn submit_one(
    b: &Backends,
    workflow: &str,
    input: serde_json::Value,
) -> anyhow::Result<uuid::Uuid> {
    Ok(bifrost_runner::worker::submit(
        &*b.queue,
        &*b.workflows,
        RunRequest {
            workflow_name: workflow.into(),
            input,
            identity: Identity::operator(),
            form_id: None,
            parent_execution_id: None,
            session_id: None,
        },
        None,
        &Default::default(),
    )
    .await?)
}

/// Waits until execution `id` has ended and returns it.
async fn ended(b: &Backends, id: uuid::Uuid) -> anyhow::Result<bifrost_core::model::Execution> {
    ended_every(b, id, Duration::from_millis(2)).await
}

/// Reads execution `id` every `every` until it has ended; returns it.
pub(crate) async fn ended_every(
    b: &Backends,
    id: uuid::Uuid,
    every: Duration,
) -> anyhow::Result<bifrost_core::model::Execution> {
    let admin = Identity::operator();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let e = b.service.get(&admin, &id.to_string()).await?;
        if e.status.is_final() {
            return Ok(e);
        }
        anyhow::ensure!(Instant::now() < deadline, "{id} did not end");
        tokio::time::sleep(every).await;
    }
}

/// One hello execution, submitted and waited for: its row.
async fn one_hello(b: &Backends) -> anyhow::Result<bifrost_core::model::Execution> {
    let id = submit_one(b, "hello", json!({"name": "Ada"})).await?;
    let e = ended(b, id).await?;
    anyhow::ensure!(
        e.status.as_str() == "Success",
        "hello: {:?}",
        e.error_message
    );
    anyhow::ensure!(e.completed_at.is_some(), "{id}: no end");
    Ok(e)
}

/// Submit-to-finish seconds of an execution, from the store's timestamps.
fn latency(e: &bifrost_core::model::Execution) -> f64 {
    let done = e.completed_at.unwrap_or(e.created_at);
    (done - e.created_at).num_microseconds().unwrap_or(0) as f64 / 1e6
}

/// Submit-to-finish seconds of hello executions, one at a time, for `secs` seconds.
async fn hellos_for(b: &Backends, secs: f64) -> anyhow::Result<Vec<f64>> {
    let clock = Instant::now();
    let mut out = Vec::new();
    while clock.elapsed().as_secs_f64() < secs {
        out.push(latency(&one_hello(b).await?));
    }
    Ok(out)
}

/// Hello's submit-to-finish latency in a `serve` process (4 at once, PostgreSQL and Redis)
/// when it is quiet and while it compiles a Python workflow cold for its first execution,
/// with the default (a compile process of every core but one), on threads of the serving
/// process (every core but one) and with every core compiling there, alternating in each
/// round; each a new process with an empty compiled-code cache.
async fn compile_while_serving(
    section: &mut Section,
    ctx: &Ctx,
    bin: &Path,
    env: &[(&str, String)],
    scratch: &Path,
) -> anyhow::Result<()> {
    for (file, name) in [
        (guests::EXAMPLE_HELLO, "hello"),
        (guests::PYTHON_RAISES, "python"),
    ] {
        deploy(bin, env, &scratch.join("unused"), file, name)?;
    }
    let b = connect(env).await?;
    let admin = Identity::operator();
    let quiet_secs = if ctx.quick { 1.0 } else { 4.0 };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The settings, alternating in each round.
    let settings: [(String, Vec<String>); 3] = [
        (
            "a compile process, every core but one (default)".to_owned(),
            vec![],
        ),
        (
            "threads of the serving process, every core but one (`--compile-in threads`)"
                .to_owned(),
            vec!["--compile-in".into(), "threads".into()],
        ),
        (
            format!(
                "threads of the serving process, every core \
                 (`--compile-in threads --compile-threads {cores}`)"
            ),
            vec![
                "--compile-in".into(),
                "threads".into(),
                "--compile-threads".into(),
                cores.to_string(),
            ],
        ),
    ];
    let mut samples: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = vec![Default::default(); settings.len()];
    for round in 0..ctx.rounds(3) {
        for (i, (_, extra)) in settings.iter().enumerate() {
            let (quiet, busy, compiles) = &mut samples[i];
            let cache = scratch.join(format!("cold-{round}-{i}"));
            let _serve = serve_with(bin, env, &cache, 100, 4, extra)?;
            // Hello compiled (its own cold compile) and the process warm.
            hellos_for(&b, 0.5).await?;
            quiet.extend(hellos_for(&b, quiet_secs).await?);
            // Hellos one at a time until the Python execution has ended; those that ran
            // from its submission to the end of its compile are the busy samples.
            let python = submit_one(&b, "python", json!({})).await?;
            let mut during = Vec::new();
            let p = loop {
                during.push(one_hello(&b).await?);
                let p = b.service.get(&admin, &python.to_string()).await?;
                if p.status.is_final() {
                    break p;
                }
            };
            let compiled = p.completed_at.unwrap_or(p.created_at)
                - chrono::TimeDelta::milliseconds(p.duration_ms.unwrap_or(0));
            compiles.push((compiled - p.created_at).num_milliseconds() as f64 / 1e3);
            busy.extend(
                during
                    .iter()
                    .filter(|h| h.created_at >= p.created_at && h.completed_at <= Some(compiled))
                    .map(latency),
            );
            quiet.extend(hellos_for(&b, quiet_secs).await?);
        }
    }
    for ((name, _), (quiet, busy, compiles)) in settings.iter().zip(&samples) {
        anyhow::ensure!(!busy.is_empty(), "no hello ran during a compile");
        let (q, w) = (p99(quiet), p99(busy));
        section.row([
            format!(
                "{name}: hello submit to finish, quiet ({} executions): median / p99",
                quiet.len()
            ),
            format!("{} / {}", fmt_secs(median(quiet)), fmt_secs(q)),
            String::new(),
            String::new(),
        ]);
        section.row([
            format!(
                "{name}: hello submit to finish while a Python workflow compiles cold \
                 ({} median compile; {} executions): median / p99",
                fmt_secs(median(compiles)),
                busy.len()
            ),
            format!(
                "{} / {} ({} of quiet p99)",
                fmt_secs(median(busy)),
                fmt_secs(w),
                fmt_ratio(w / q),
            ),
            format!("p99 < {} quiet", fmt_ratio(TARGET_BUSY_P99)),
            verdict(w < TARGET_BUSY_P99 * q).to_owned(),
        ]);
    }
    Ok(())
}

/// Waits until each of `ids` has ended; checks that each ended `Success`.
pub(crate) async fn wait_all(b: &Backends, ids: &[uuid::Uuid]) -> anyhow::Result<()> {
    let admin = Identity::operator();
    let deadline = Instant::now() + Duration::from_secs(600);
    for id in ids {
        loop {
            let e = b.service.get(&admin, &id.to_string()).await?;
            if e.status.is_final() {
                anyhow::ensure!(
                    e.status.as_str() == "Success",
                    "{id} ended {}: {:?}",
                    e.status,
                    e.error_message
                );
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "{id} did not end");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}

/// Seconds from submission to claim of each execution, read from the store.
async fn latencies(b: &Backends, ids: &[uuid::Uuid]) -> anyhow::Result<Vec<f64>> {
    let admin = Identity::operator();
    let mut out = Vec::new();
    for id in ids {
        let e = b.service.get(&admin, &id.to_string()).await?;
        anyhow::ensure!(
            e.status.as_str() == "Success",
            "{id}: {:?}",
            e.error_message
        );
        let started = e
            .started_at
            .ok_or_else(|| anyhow::anyhow!("{id}: not started"))?;
        out.push((started - e.created_at).num_microseconds().unwrap_or(0) as f64 / 1e6);
    }
    Ok(out)
}

pub(crate) fn p99(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Wall seconds of one `run` process, which must have run the workflow to an end (exit 0
/// for `Success`, 1 for another final status: the Python program raises on purpose).
pub(crate) fn timed_run(cmd: &mut Command) -> anyhow::Result<f64> {
    let clock = Instant::now();
    let out = cmd.output()?;
    let took = clock.elapsed().as_secs_f64();
    let printed: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
    anyhow::ensure!(
        matches!(out.status.code(), Some(0 | 1))
            && printed.is_some_and(|e| e["status"].as_str().is_some()),
        "run did not record an execution ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(took)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    crate::on_multi_thread(|| run_here(ctx))
}

async fn run_here(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "queue",
        "10. The queue and the compiled-code cache",
        "Real `bifrost-runner` processes (release build). *Submit to running*: one `serve` \
         process idles; executions of the bench workflow's `small` operation are submitted \
         one at a time through the library, 30 ms apart, and each one's claim time minus its \
         submission time is read from the store (PostgreSQL: woken by LISTEN/NOTIFY, polling \
         every 1 s besides; SQLite: polling every 100 ms). *Drain*: executions are queued, \
         then 1, 2 or 4 `serve` processes (16 at once each) are started and timed until every \
         one is `Success`, on PostgreSQL and Redis. *Cold start*: the wall time of a whole \
         `bifrost-runner run` process on the embedded default, with the component compiled \
         from scratch (`--no-cache`) and loaded from a warm compiled-code cache, alternating; \
         medians.",
        &["what", "figure", "target", "met"],
    );
    let Processes {
        bin,
        scratch,
        cache,
        servers,
        embedded,
    } = Processes::new(ctx, DB).await?;
    for env in [&servers, &embedded] {
        deploy(&bin, env, &cache, guests::BENCH, "bench")?;
    }

    // Submit to running.
    let n = if ctx.quick { 20 } else { 200 };
    for (name, env, poll) in [
        ("PostgreSQL (LISTEN/NOTIFY)", &servers, 1000),
        ("SQLite (poll 100 ms)", &embedded, 100),
    ] {
        let b = connect(env).await?;
        let _serve = serve(&bin, env, &cache, poll)?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.extend(submit(&b, 1).await?);
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        wait_all(&b, &ids).await?;
        let l = latencies(&b, &ids).await?;
        section.row([
            format!("submit to running, {name}: median / p99"),
            format!("{} / {}", fmt_secs(median(&l)), fmt_secs(p99(&l))),
            String::new(),
            String::new(),
        ]);
    }

    // Drain rate with 1, 2, 4 processes.
    let b = connect(&servers).await?;
    let per_round = if ctx.quick { 200 } else { 2000 };
    let mut one = 0.0;
    for k in [1usize, 2, 4] {
        let ids = submit(&b, per_round).await?;
        let clock = Instant::now();
        let procs: Vec<Serve> = (0..k)
            .map(|_| serve(&bin, &servers, &cache, 1000))
            .collect::<anyhow::Result<_>>()?;
        wait_all(&b, &ids).await?;
        let rate = per_round as f64 / clock.elapsed().as_secs_f64();
        drop(procs);
        if k == 1 {
            one = rate;
        }
        section.row([
            format!("drain {per_round} executions, {k} serve process(es)"),
            format!("{}, {} of one", fmt_rate(rate), fmt_ratio(rate / one)),
            String::new(),
            String::new(),
        ]);
    }

    section.note(
        "Drain: PostgreSQL, Redis and every `serve` process share this machine's 2 cores, so \
         more processes add claims, connections and context switches but no cores; the rows \
         show that processes share one queue (each execution ran once: every one ended \
         `Success`, checked by id), not how it scales across machines, which one machine \
         cannot measure.",
    );

    // Compile while serving.
    compile_while_serving(&mut section, ctx, &bin, &servers, scratch.path()).await?;
    section.note(
        "Compile while serving: each round, for each compile setting in turn, a new \
         `serve` process (4 executions at once) with an empty compiled-code cache, on \
         PostgreSQL and Redis. Hello's own first runs compile it; then hello executions run \
         one at a time for 4 s (quiet); then a Python workflow (`tests/python/raw/raises.py`, \
         componentize-py) is submitted and hellos run one at a time until it has ended: \
         those submitted after it and ended before its compile did (its `completed_at` \
         minus its run's `duration_ms`) are the busy samples; then 4 s more quiet. Latency \
         is the execution's `completed_at` minus its `created_at`, from the store. The \
         submitting and waiting (a read every 2 ms) is this benchmark's process, on the same \
         cores.",
    );

    // Cold start.
    let python = PathBuf::from(guests::PYTHON_RAISES);
    let components = vec![
        (
            "Rust (`hello` example)",
            PathBuf::from(guests::EXAMPLE_HELLO),
            TARGET_CACHED_RUST,
            json!({"name": "Ada"}),
        ),
        (
            "Python (componentize-py)",
            python,
            TARGET_CACHED_PYTHON,
            json!({}),
        ),
    ];
    let rounds = ctx.rounds(5);
    for (name, path, target, input) in components {
        let run = |no_cache: bool| {
            let mut cmd = command(&bin, &embedded, &cache);
            cmd.arg("run")
                .arg(&path)
                .args(["--input", &input.to_string()]);
            if no_cache {
                cmd.arg("--no-cache");
            }
            cmd
        };
        // Warm the cache.
        timed_run(&mut run(false)).ok();
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            cold.push(timed_run(&mut run(true))?);
            warm.push(timed_run(&mut run(false))?);
        }
        let (c, w) = (median(&cold), median(&warm));
        section.row([
            format!("cold start of `run`, {name}: compiled / cached"),
            format!(
                "{} / {} ({} faster)",
                fmt_secs(c),
                fmt_secs(w),
                fmt_ratio(c / w)
            ),
            format!("cached < {}", fmt_secs(target)),
            verdict(w < target).to_owned(),
        ]);
    }
    Ok(section)
}
