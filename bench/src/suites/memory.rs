//! Memory: peak resident memory of a runner with 1,000 idle instances alive.
//!
//! Measured in a child process (`bifrost-bench memory`), so that the figure is the
//! runner's alone: the child starts a pooling runner on PostgreSQL and Redis, starts 1,000
//! executions of a workflow that sleeps (a WASI sleep: the instance stays alive and idle),
//! and samples its resident set while they are all running.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bifrost_core::Identity;
use bifrost_runner::RunRequest;
use serde_json::json;

use crate::report::Section;
use crate::{Ctx, guests, setup};

/// How long each idle instance sleeps.
const IDLE_MS: u64 = 6000;

/// `VmRSS` or `VmHWM` of this process, in bytes, from `/proc/self/status`.
fn proc_status_bytes(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| anyhow::anyhow!("no {field} in /proc/self/status"))?;
    let kb: u64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb * 1024)
}

/// The child's work; prints one JSON line.
pub async fn child(servers: &setup::Servers, instances: usize) -> anyhow::Result<()> {
    let url = servers.database(setup::RUNS_DB, false).await?;
    let (service, store) = servers.service(&url).await?;
    let runner = Arc::new(setup::runner(service, true)?);
    let wf = Arc::new(setup::load(&runner, guests::BENCH)?);
    let name = format!("bench-idle-{}", std::process::id());
    let request = |ms: u64| RunRequest {
        workflow_name: name.clone(),
        input: json!({"op": "sleep", "ms": ms}),
        identity: Identity::operator(),
        form_id: None,
        parent_execution_id: None,
        session_id: None,
    };
    // One run first: the code is loaded and the connections are open.
    runner.run(&wf, request(1)).await?;
    let baseline = proc_status_bytes("VmRSS:")?;
    let mut tasks = Vec::new();
    for _ in 0..instances {
        let (runner, wf, req) = (runner.clone(), wf.clone(), request(IDLE_MS));
        tasks.push(tokio::spawn(async move { runner.run(&wf, req).await }));
    }
    // Wait until every execution is running, then sample while they sleep.
    let started = Instant::now();
    loop {
        let (running,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM executions WHERE workflow_name = $1 AND status = 'Running'",
        )
        .bind(&name)
        .fetch_one(store.pool())
        .await?;
        if running as usize >= instances {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_millis(IDLE_MS - 2000),
            "only {running} of {instances} executions running after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_running_after = started.elapsed();
    let mut alive = 0;
    while started.elapsed() < all_running_after + Duration::from_millis(1500) {
        alive = alive.max(proc_status_bytes("VmRSS:")?);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        let e = t.await??;
        anyhow::ensure!(
            e.status == bifrost_core::model::ExecutionStatus::Success,
            "idle run ended {:?}: {:?}",
            e.status,
            e.error_message
        );
    }
    let peak = proc_status_bytes("VmHWM:")?;
    println!(
        "{}",
        json!({
            "baseline": baseline,
            "alive": alive,
            "peak": peak,
            "all_running_after_ms": all_running_after.as_millis() as u64,
        })
    );
    Ok(())
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let instances = ctx.scaled_usize(1000);
    let mut section = Section::new(
        "memory",
        "Memory: a runner with 1,000 idle instances",
        &format!(
            "A child process (`bifrost-bench memory --instances {instances}`) starts a pooling \
             runner on PostgreSQL and Redis, runs one execution, reads its resident set \
             (baseline), then starts {instances} executions of a workflow that sleeps {} s in \
             WASI, waits until the store shows them all `Running`, and samples `VmRSS` for \
             1.5 s; `VmHWM` is read after they have all finished.",
            IDLE_MS / 1000
        ),
        &["figure", "value"],
    );
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .args(["memory", "--instances", &instances.to_string()])
        .env("DATABASE_URL", &ctx.servers.database_url)
        .env("REDIS_URL", &ctx.servers.redis_url)
        .stderr(std::process::Stdio::inherit())
        .output()
        .await?;
    anyhow::ensure!(out.status.success(), "the memory child failed");
    let text = String::from_utf8(out.stdout)?;
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or(""))?;
    let mib = |k: &str| v[k].as_u64().unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let per = (mib("alive") - mib("baseline")) * 1024.0 / instances as f64;
    section.row([
        "resident before (one run done)".into(),
        format!("{:.1} MiB", mib("baseline")),
    ]);
    section.row([
        format!("resident with {instances} idle instances"),
        format!("{:.1} MiB", mib("alive")),
    ]);
    section.row(["per idle instance".into(), format!("{per:.0} KiB")]);
    section.row([
        "peak resident (VmHWM)".into(),
        format!("{:.1} MiB", mib("peak")),
    ]);
    section.note(format!(
        "All {instances} were running {} ms after they were started.",
        v["all_running_after_ms"]
    ));
    Ok(section)
}
