//! 6. End to end: executions a second for a small workflow (row created, run, ten log
//!    lines, finalised, logs moved), at 1, 8 and 64 at once; on PostgreSQL and Redis, and
//!    on the embedded default for comparison.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bifrost_core::ExecutionsService;
use bifrost_core::Identity;
use bifrost_core::model::ExecutionStatus;
use bifrost_runner::{LoadedWorkflow, RunRequest, Runner};
use serde_json::json;

use crate::report::{Section, verdict};
use crate::stats::{fmt_rate, median};
use crate::{Ctx, guests, setup};

/// Target: 1,000 executions a second on this 2-core machine.
const TARGET_RATE: f64 = 1000.0;
const CONCURRENCY: [usize; 3] = [1, 8, 64];

/// Executions a second with `c` runs at once for `period`.
async fn rate(
    runner: &Arc<Runner>,
    wf: &Arc<LoadedWorkflow>,
    c: usize,
    period: Duration,
) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + period;
    let mut tasks = Vec::new();
    for _ in 0..c {
        let (runner, wf, done) = (runner.clone(), wf.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let request = RunRequest {
                    workflow_name: "bench-small".into(),
                    input: json!({"op": "small"}),
                    identity: Identity::operator(),
                    form_id: None,
                    session_id: None,
                };
                let e = runner.run(&wf, request).await?;
                anyhow::ensure!(
                    e.status == ExecutionStatus::Success
                        && e.logs.as_ref().is_some_and(|l| l.len() == 10),
                    "run ended {:?}: {:?}",
                    e.status,
                    e.error_message
                );
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

async fn measure(
    section: &mut Section,
    ctx: &Ctx,
    backends: &str,
    service: ExecutionsService,
    targeted: bool,
) -> anyhow::Result<()> {
    let runner = Arc::new(setup::runner(service, true)?);
    let wf = Arc::new(setup::load(&runner, guests::BENCH)?);
    let period = if ctx.quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(3)
    };
    rate(&runner, &wf, 8, Duration::from_millis(500)).await?;
    for c in CONCURRENCY {
        let mut samples = Vec::new();
        for _ in 0..ctx.rounds(3) {
            samples.push(rate(&runner, &wf, c, period).await?);
        }
        let r = median(&samples);
        section.row([
            backends.to_owned(),
            c.to_string(),
            fmt_rate(r),
            if targeted {
                format!(">= {}", fmt_rate(TARGET_RATE))
            } else {
                String::new()
            },
            if targeted {
                verdict(r >= TARGET_RATE).to_owned()
            } else {
                String::new()
            },
        ]);
    }
    Ok(())
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    // Executions run on a multi-threaded runtime, a worker per core, as in a runner.
    crate::on_multi_thread(|| run_here(ctx))
}

async fn run_here(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "end-to-end",
        "6. End to end: executions a second",
        "`Runner::run` of the bench workflow's `small` operation (ten log lines through the \
         `log` crate, then a result), started by `c` tasks that each run one execution after \
         another for 3 s: the row created, the instance run, the lines streamed, the logs \
         moved to the store, the final status written, the stream deleted and the execution \
         read back. Every run is checked (`Success`, ten log entries). A sample is \
         completed executions over elapsed time; the median of 3 samples is quoted.",
        &[
            "backends",
            "at once",
            "median executions/s",
            "target",
            "result",
        ],
    );
    let servers = &ctx.servers;
    let url = servers.database(setup::RUNS_DB, true).await?;
    let (service, _) = servers.service(&url).await?;
    measure(&mut section, ctx, "PostgreSQL + Redis", service, true).await?;

    let dir = std::env::temp_dir().join(format!("bifrost-bench-{}", std::process::id()));
    let embedded = setup::embedded_service(&dir).await?;
    let outcome = measure(
        &mut section,
        ctx,
        "embedded (SQLite, live lines in the same file)",
        embedded,
        false,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;
    Ok(section)
}
