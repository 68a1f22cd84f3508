//! `bifrost-bench`: the benchmarks side by side, and the report `docs/BENCHMARKS.md`.
//!
//! `scripts/bench` builds it in release mode, makes the Python environment of the
//! reference stack, and runs it. Each benchmark measures its alternatives in alternating
//! rounds of the same run and reports medians and ratios; none asserts a time. Each
//! checks what it measured (every call's answer, every line in the stream), so a broken
//! path fails the run instead of looking fast.

mod report;
mod seed;
mod setup;
mod stats;
mod suites;

use std::path::PathBuf;
use std::time::Instant;

use bifrost_core::model::{LogEntry, LogLevel, StreamId};
use clap::{Parser, Subcommand};
use tokio::sync::OnceCell;

/// The guest components, built in this build's profile by `bifrost-artifacts`.
use bifrost_artifacts as guests;

/// Every benchmark, in report order.
const ALL: &[&str] = &[
    "instantiate",
    "host-calls",
    "host-call-split",
    "list",
    "ingest",
    "live-logs",
    "end-to-end",
    "python",
    "memory",
    "log-store",
    "queue",
    "python-guest",
    "native-floor",
    "api",
    "pages",
    "children",
    "purge",
    "js-guest",
];

#[derive(Parser)]
#[command(about = "Benchmarks of the bifrost host, side by side; writes docs/BENCHMARKS.md")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Run only these benchmarks (comma-separated): instantiate, host-calls,
    /// host-call-split, list, ingest, live-logs, end-to-end, python, memory, log-store,
    /// queue, python-guest, native-floor, api, pages, children, purge, js-guest.
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(ALL))]
    only: Vec<String>,
    /// Where to write the report; with `--only`, the report holds those sections only.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    out: PathBuf,
    /// Executions in the list benchmark's table.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// A fast pass with few samples: to check that everything runs, not for figures.
    #[arg(long)]
    quick: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Seeds the million-row table (database `bifrost_bench` on the server of
    /// DATABASE_URL) and exits.
    Seed {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
    },
    /// The memory benchmark's child process.
    #[command(hide = true)]
    Memory {
        #[arg(long)]
        instances: usize,
    },
}

/// What every benchmark shares.
pub struct Ctx {
    servers: setup::Servers,
    quick: bool,
    rows: u64,
    dataset: OnceCell<seed::Dataset>,
    get_target: OnceCell<uuid::Uuid>,
    scale: OnceCell<(
        bifrost_core::ExecutionsService,
        std::sync::Arc<bifrost_sql::PostgresStore>,
    )>,
}

impl Ctx {
    /// `n`, or a tenth of it (at least 1) in a quick pass.
    fn scaled(&self, n: u32) -> u32 {
        if self.quick { (n / 10).max(1) } else { n }
    }

    fn scaled_usize(&self, n: usize) -> usize {
        if self.quick { (n / 10).max(1) } else { n }
    }

    /// Rounds of a paired measurement: `n`, or 3 in a quick pass.
    fn rounds(&self, n: usize) -> usize {
        if self.quick { n.min(3) } else { n }
    }

    /// The seeded table (seeded on first use when missing).
    async fn dataset(&self) -> anyhow::Result<seed::Dataset> {
        self.dataset
            .get_or_try_init(async || seed::ensure(&self.servers, self.rows).await)
            .await
            .cloned()
    }

    /// The service on the seeded table, and its store.
    async fn scale_service(
        &self,
    ) -> anyhow::Result<(
        bifrost_core::ExecutionsService,
        std::sync::Arc<bifrost_sql::PostgresStore>,
    )> {
        self.dataset().await?;
        self.scale
            .get_or_try_init(async || {
                self.servers
                    .service(&self.servers.url_of(setup::SCALE_DB))
                    .await
            })
            .await
            .cloned()
    }

    /// The execution `get` benchmarks read: the newest `Success` of the seeded table, given
    /// twenty stored log lines (so `get` returns it whole, with logs).
    async fn get_target(&self) -> anyhow::Result<uuid::Uuid> {
        self.get_target
            .get_or_try_init(async || {
                let (service, store) = self.scale_service().await?;
                let (id,): (uuid::Uuid,) = sqlx::query_as(
                    "SELECT id FROM executions WHERE status = 'Success' \
                     ORDER BY started_at DESC, id DESC LIMIT 1",
                )
                .fetch_one(store.pool())
                .await?;
                let base = 1_700_000_000_000u64;
                let lines: Vec<LogEntry> = (0..20u64)
                    .map(|i| LogEntry {
                        id: StreamId {
                            ms: base + i,
                            seq: 0,
                        },
                        execution_id: id,
                        level: LogLevel::Info,
                        message: format!("step {i} done"),
                        metadata: Some((&serde_json::json!({"step": i})).into()),
                        timestamp: chrono::Utc::now(),
                    })
                    .collect();
                // Kept once however often it runs (the store skips ids it holds).
                service.log_archive().insert_logs(&lines).await?;
                Ok(id)
            })
            .await
            .copied()
    }
}

/// The machine, the servers and the toolchain, for the report's header.
async fn machine(ctx: &Ctx) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or("unknown".into(), |kb| {
            format!("{:.0} GiB", kb / 1024.0 / 1024.0)
        });
    let pg = async {
        let url = ctx.servers.database_url.clone();
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .ok()?;
        sqlx::query_as::<_, (String,)>("SHOW server_version")
            .fetch_one(&mut c)
            .await
            .ok()
            .map(|(v,)| v)
    }
    .await
    .unwrap_or_else(|| "unknown".into());
    let redis_version = async {
        let mut c = ctx.servers.redis_connection().await.ok()?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut c)
            .await
            .ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("redis_version:").map(str::to_owned))
    }
    .await
    .unwrap_or_else(|| "unknown".into());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    format!(
        "- Machine: {cpu}, {cores} cores, {mem} of memory, shared with other work (figures \
         are medians).\n- Servers: PostgreSQL {pg} and Redis {redis_version} on the same \
         machine, over loopback.\n- Build: {rustc}, release profile; guests built for \
         wasm32-wasip2 in release mode; wasmtime 48.\n"
    )
}

async fn bench_all(cli: &Cli) -> anyhow::Result<()> {
    let ctx = Ctx {
        servers: setup::Servers::from_env(),
        quick: cli.quick,
        rows: cli.rows,
        dataset: OnceCell::new(),
        get_target: OnceCell::new(),
        scale: OnceCell::new(),
    };
    let started = Instant::now();
    let mut sections = Vec::new();
    for &name in ALL {
        if !cli.only.is_empty() && !cli.only.iter().any(|o| o == name) {
            continue;
        }
        println!("== {name}");
        let t = Instant::now();
        let section = match name {
            "instantiate" => suites::instantiate::run(&ctx).await,
            "host-calls" => suites::host_calls::run(&ctx).await,
            "host-call-split" => suites::host_calls::run_split(&ctx).await,
            "list" => suites::list_scale::run(&ctx).await,
            "ingest" => suites::ingest::run(&ctx).await,
            "live-logs" => suites::live_logs::run(&ctx).await,
            "end-to-end" => suites::end_to_end::run(&ctx).await,
            "python" => suites::python::run(&ctx).await,
            "memory" => suites::memory::run(&ctx).await,
            "log-store" => suites::log_store::run(&ctx).await,
            "queue" => suites::queue::run(&ctx).await,
            "python-guest" => suites::python_guest::run(&ctx).await,
            "js-guest" => suites::js_guest::run(&ctx).await,
            "native-floor" => suites::native_floor::run(&ctx).await,
            "api" => suites::api::run(&ctx).await,
            "pages" => suites::pages::run(&ctx).await,
            "children" => suites::children::run(&ctx).await,
            "purge" => suites::purge::run(&ctx).await,
            _ => unreachable!("checked against ALL"),
        }
        .map_err(|e| e.context(format!("benchmark {name}")))?;
        println!("   ({:.1} s)", t.elapsed().as_secs_f64());
        sections.push(section);
    }
    let command = "scripts/bench";
    let mut md = String::from("# Benchmarks\n\n");
    md += &format!(
        "Written by `{command}` (`bifrost-bench`) on {} in {:.0} s{}. Every figure is a \
         median of samples taken in the same run; every ratio compares alternatives measured \
         side by side, in alternating rounds. Nothing here is a test: the run fails only if \
         a measured path gives a wrong answer.\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        started.elapsed().as_secs_f64(),
        if cli.quick {
            " (a quick pass: few samples, figures not meant to be quoted)"
        } else {
            ""
        }
    );
    md += &machine(&ctx).await;
    if let Some(d) = ctx.dataset.get() {
        md += &format!(
            "- Seeded table: {} executions{}.\n",
            stats::thousands(d.rows as u64),
            d.seeded_in
                .map_or(String::from(" (seeded by an earlier run)"), |t| format!(
                    ", seeded in {:.1} s by this run",
                    t.as_secs_f64()
                ))
        );
    }
    md += &format!(
        "\nReproduce everything: `{command}`; one benchmark: `{command} --only NAME`.\n\n"
    );
    for s in &sections {
        md += &s.markdown(command);
    }
    if let Some(dir) = cli.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cli.out, md)?;
    println!(
        "wrote {} in {:.0} s",
        cli.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A runtime with a worker thread per core, as a runner has.
fn multi_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Runs the future `make` gives on a multi-threaded runtime of its own, on a thread of its
/// own, and waits for it: for the benchmarks whose executions should run as in a runner.
fn on_multi_thread<F, Fut>(make: F) -> anyhow::Result<report::Section>
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = anyhow::Result<report::Section>>,
{
    std::thread::scope(|s| {
        s.spawn(|| multi_thread()?.block_on(make()))
            .join()
            .map_err(|_| anyhow::anyhow!("the benchmark thread panicked"))?
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(Cmd::Seed { rows }) => multi_thread()?.block_on(async {
            seed::ensure(&setup::Servers::from_env(), *rows).await?;
            Ok(())
        }),
        Some(Cmd::Memory { instances }) => multi_thread()?.block_on(suites::memory::child(
            &setup::Servers::from_env(),
            *instances,
        )),
        // Latency benchmarks make one call after another from one task: a single-threaded
        // runtime drives their I/O on the thread that waits for it, as the worker that
        // runs an execution usually does (on a multi-threaded runtime, `block_on` from
        // the main thread would add a cross-thread wake-up to every wait). The throughput
        // benchmarks (end to end, memory) run on a multi-threaded runtime of their own.
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(bench_all(&cli)),
    }
}
