//! `bifrost-runner serve`: the worker that runs submitted executions, with the HTTP API,
//! health and metrics (`--listen`), until SIGTERM or SIGINT.
//!
//! `--listen` on an address other than loopback needs `--allow-remote`: the API speaks
//! plain HTTP, and belongs behind a proxy that terminates TLS (docs/API.md).
//! `--concurrency 0` serves the API without running executions.

use std::sync::Arc;
use std::time::Duration;

use bifrost_runner::backends::Backends;
use bifrost_runner::children::{ChildLimits, QueueChildren};
use bifrost_runner::worker::{Worker, WorkerConfig};
use bifrost_runner::{Runner, RunnerConfig};
use clap::Args;

use crate::args::CacheArgs;
use crate::exit::Failure;
use crate::output;

/// `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Executions run at once by this process; 0 runs none (a process that serves the
    /// API only).
    #[arg(long, env = "BIFROST_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(0..=1000))]
    concurrency: u32,
    /// On SIGTERM or SIGINT, how long running executions may take to finish before they
    /// are cancelled, in seconds.
    #[arg(long, env = "BIFROST_GRACE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    grace_secs: u64,
    /// Deadline of each execution in seconds, 1 to 604800 (7 days).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    timeout_secs: u64,
    /// The lease this process holds on each execution it runs, in seconds (renewed every
    /// third of it); once another process sees it run out, it marks the execution `Stuck`.
    #[arg(long, env = "BIFROST_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease_secs: u64,
    /// How often to look for due executions without a notification, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    poll_ms: u64,
    /// Threads each compile of a deployed version runs on, the first time this process
    /// runs the version (1 to 256); default every core but one, so that a compile leaves a
    /// core to the running executions.
    #[arg(long, env = "BIFROST_COMPILE_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    compile_threads: Option<u16>,
    /// Where a deployed version compiles, the first time this process runs it: `process`,
    /// a process of its own started from this executable (the default: the compile shares
    /// only the cores with the running executions), or `threads` of this process.
    #[arg(long, env = "BIFROST_COMPILE_IN", value_enum, default_value_t = CompileIn::Process)]
    compile_in: CompileIn,
    /// How deep workflows may start workflows (`workflows`, 0.3.0): an execution started
    /// from outside is at depth 0, its children at 1; a start past this is `limit-reached`
    /// (a cycle A -> B -> A ends there).
    #[arg(long, env = "BIFROST_MAX_CHILD_DEPTH", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    max_child_depth: u32,
    /// Executions that may wait for a child they started, beside the `--concurrency` that
    /// run: a waiting parent keeps its instance and gives its running slot back. With all
    /// of them waiting, no more executions start until one ends.
    #[arg(long, env = "BIFROST_MAX_WAITING", default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    max_waiting: u32,
    /// Delete executions that ended longer ago than this (90d, 12h, 30m, 45s), as
    /// `executions purge` does, at start and every --purge-every-secs; unset, nothing is
    /// deleted.
    #[arg(long, env = "BIFROST_RETENTION")]
    retention: Option<String>,
    /// Seconds between two purges of --retention.
    #[arg(long, env = "BIFROST_PURGE_EVERY_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    purge_every_secs: u64,
    /// Milliseconds the purges of --retention pause after each statement that deleted a
    /// whole batch (as `executions purge --pause-ms`).
    #[arg(long, env = "BIFROST_PURGE_PAUSE_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    purge_pause_ms: u64,
    /// How many workflows one execution may start; past it, `limit-reached`.
    #[arg(long, env = "BIFROST_MAX_CHILDREN", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_children: u64,
    /// Serve the HTTP API (`/api/v1`), `/healthz` and Prometheus `/metrics` on this
    /// address (e.g. 127.0.0.1:8080; port 0 picks a free one). The address is printed on
    /// stderr once bound.
    #[arg(long, env = "BIFROST_LISTEN", value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// The API's requests per second per token (twice as many in a burst); over it, 429
    /// with `Retry-After`.
    #[arg(long, env = "BIFROST_API_RATE", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    api_rate: u32,
    /// The API's event streams open at once per token; over it, 429.
    #[arg(long, env = "BIFROST_API_STREAMS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    api_streams: u32,
    /// Allow --listen on an address other than loopback. The API speaks plain HTTP: put it
    /// behind a proxy that terminates TLS.
    #[arg(long, env = "BIFROST_ALLOW_REMOTE")]
    allow_remote: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Where deployed versions compile (`--compile-in`).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CompileIn {
    /// A process of its own, this executable's `compile-worker`.
    Process,
    /// Threads of the serving process.
    Threads,
}

/// Runs submitted executions until SIGTERM or SIGINT; then drains and prints what it did.
pub async fn serve(backends: Backends, args: ServeArgs) -> Result<(), Failure> {
    // Bound first: a busy port is the operator's mistake, reported before anything runs.
    let listener = match args.listen {
        Some(addr) => {
            if !addr.ip().is_loopback() && !args.allow_remote {
                return Err(Failure::caller(anyhow::anyhow!(
                    "--listen {addr}: not a loopback address; the API speaks plain HTTP, so \
                     serve it behind a TLS-terminating proxy and pass --allow-remote"
                )));
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure::caller(anyhow::anyhow!("--listen {addr}: {e}")))?;
            let bound = listener
                .local_addr()
                .map_err(|e| Failure::infrastructure(anyhow::anyhow!("--listen {addr}: {e}")))?;
            anstream::eprintln!("bifrost-runner: listening on http://{bound}");
            Some(listener)
        }
        None => None,
    };
    let compile_command = match args.compile_in {
        CompileIn::Process => Some(
            bifrost_runner::CompileCommand::current_exe(["compile-worker"]).map_err(|e| {
                Failure::infrastructure(anyhow::anyhow!(
                    "cannot find this executable to compile in: {e} (use --compile-in threads)"
                ))
            })?,
        ),
        CompileIn::Threads => None,
    };
    let metrics = Arc::new(crate::commands::ops::Metrics::new());
    let runner = Runner::new(
        backends.service.clone(),
        RunnerConfig {
            deadline: Duration::from_secs(args.timeout_secs),
            lease: Duration::from_secs(args.lease_secs),
            // Room for executions that wait for a child beside those that run.
            max_instances: args.concurrency.max(1) + args.max_waiting,
            max_running: Some(args.concurrency.max(1)),
            compiled_cache: args.cache.config(),
            compile_threads: args.compile_threads.map(usize::from),
            compile_command,
            ..RunnerConfig::default()
        },
    )
    .map_err(|e| Failure::infrastructure(anyhow::anyhow!("{e:#}")))?
    .with_events(metrics.clone());
    // A child this process runs wakes its waiting parent at once.
    let ended = runner.ended();
    let runner = runner.with_children(Arc::new(
        QueueChildren::new(
            backends.queue.clone(),
            backends.workflows.clone(),
            backends.service.clone(),
            ChildLimits {
                max_depth: args.max_child_depth,
                max_children: args.max_children,
            },
            RunnerConfig::default().limits,
        )
        .woken_by(ended),
    ));
    let runner = Arc::new(runner);
    if let Some(listener) = listener {
        let api = bifrost_api::router(bifrost_api::ApiState::new(
            backends.service.clone(),
            backends.queue.clone(),
            backends.workflows.clone(),
            backends.access.clone(),
            runner.clone(),
            bifrost_api::ApiLimits {
                requests_per_second: std::num::NonZeroU32::new(args.api_rate)
                    .unwrap_or(std::num::NonZeroU32::MIN),
                streams_per_token: args.api_streams as usize,
                ..bifrost_api::ApiLimits::default()
            },
        ));
        crate::commands::ops::spawn(
            listener,
            metrics,
            runner.clone(),
            backends.queue.clone(),
            api,
        );
    }
    let retention = match &args.retention {
        Some(text) => Some(
            crate::args::age(text)
                .map_err(|e| Failure::caller(anyhow::anyhow!("--retention {text:?}: {e}")))?,
        ),
        None => None,
    };
    let purger = retention.map(|keep| {
        spawn_purger(
            backends.clone(),
            keep,
            Duration::from_secs(args.purge_every_secs),
            Duration::from_millis(args.purge_pause_ms),
        )
    });
    let worker = Worker::new(
        runner,
        backends.queue.clone(),
        backends.workflows.clone(),
        WorkerConfig {
            concurrency: args.concurrency as usize,
            poll: Duration::from_millis(args.poll_ms),
            grace: Duration::from_secs(args.grace_secs),
            sweep_every: Duration::from_secs(args.lease_secs.max(3) / 3),
            ..WorkerConfig::default()
        },
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::infrastructure(anyhow::anyhow!("cannot handle SIGTERM: {e}")))?;
    tracing::info!(concurrency = args.concurrency, "serving");
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    // `--concurrency 0`: the API only; no claims, no sweeps (those are the workers').
    let report = if args.concurrency == 0 {
        stop.await;
        Default::default()
    } else {
        worker.run(stop).await
    };
    if let Some(purger) = purger {
        purger.abort();
    }
    output::json_line(&serde_json::json!({
        "claimed": report.claimed,
        "finished": report.finished,
        "cancelled_at_shutdown": report.cancelled_at_shutdown,
    }))
}

/// Purges what ended more than `keep` ago, now and every `every`, pausing `pause` between
/// statements, as the operator, until aborted. A purge that deleted nothing is not recorded (every `serve` process purges);
/// one that fails is reported on stderr and tried again at the next turn.
fn spawn_purger(
    backends: Backends,
    keep: chrono::TimeDelta,
    every: Duration,
    pause: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = chrono::Utc::now();
            let purge = bifrost_runner::retention::Purge {
                before: now - keep,
                statuses: Vec::new(),
                batch: bifrost_runner::retention::PURGE_BATCH,
                versions_before: Some(now - bifrost_runner::retention::VERSION_GRACE),
                pause,
            };
            match bifrost_runner::retention::purge(
                &*backends.queue,
                &*backends.workflows,
                &*backends.access,
                &purge,
                &bifrost_core::Identity::operator(),
                "serve",
                false,
            )
            .await
            {
                Ok(report) if report.deleted > 0 || report.versions_deleted > 0 => tracing::info!(
                    deleted = report.deleted,
                    batches = report.batches,
                    versions_deleted = report.versions_deleted,
                    "purged executions past --retention"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the purge of --retention failed"),
            }
            tokio::time::sleep(every).await;
        }
    })
}
