//! 6. End to end: executions a second for a small workflow (row created, run, ten log
//!    lines, finalised, logs moved), at 1, 8 and 64 at once; on PostgreSQL and Redis, and
//!    on the embedded default for comparison. One at a time, side by side with `pgbench`
//!    running the two statements of an execution (PostgreSQL's own floor for it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bifrost_core::ExecutionsService;
use bifrost_core::Identity;
use bifrost_core::model::ExecutionStatus;
use bifrost_runner::{LoadedWorkflow, RunRequest, Runner};
use serde_json::json;

use bifrost_sql::PostgresStore;

use crate::report::{Section, verdict};
use crate::stats::{fmt_rate, fmt_ratio, fmt_secs, median};
use crate::suites::native_floor::pgbench;
use crate::{Ctx, guests, setup};

/// Targets on this 2-core machine: 1,000 executions a second one at a time and 8 at once,
/// 1,500 at 64 at once.
fn target_rate(at_once: usize) -> f64 {
    if at_once >= 64 { 1500.0 } else { 1000.0 }
}
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
                    parent_execution_id: None,
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

/// Workflow name of the rows `pgbench` writes (deleted afterwards).
const FLOOR_WORKFLOW: &str = "bench-floor";

/// A `pgbench` script of the two statements a run sends ([`PostgresStore::run_sql`]), with
/// what this benchmark's runs bind: a new id, ten log lines, a JSON result.
fn floor_script() -> String {
    let [insert, finish] = PostgresStore::run_sql();
    let id = "md5(:r::text)::uuid";
    let ten = |v: &str| format!("array_fill({v}, ARRAY[10])");
    // Highest first, so that `$1` does not match the start of `$10`.
    let bind = |sql: &str, values: &[String]| {
        let mut sql = sql.to_owned();
        for (i, v) in values.iter().enumerate().rev() {
            sql = sql.replace(&format!("${}", i + 1), &format!("({v})"));
        }
        sql
    };
    let insert = bind(
        insert,
        &[
            id.into(),
            format!("'{FLOOR_WORKFLOW}'"),
            "'Running'".into(),
            // pgbench reads `:name` as a variable: no colon right after a quote.
            r#"'{"op": "small"}'::jsonb"#.into(),
            "now()".into(),
            "now()".into(),
            "now() + interval '5 minutes'".into(),
            "now() + interval '30 seconds'".into(),
            "'00000000-0000-0000-0000-000000000000'::uuid".into(),
            "'operator'".into(),
            "NULL::uuid".into(),
            "NULL::uuid".into(),
            "NULL::text".into(),
        ],
    );
    let finish = bind(
        finish,
        &[
            id.into(),
            "'Success'".into(),
            r#"'{"ok": true}'::jsonb"#.into(),
            "'json'".into(),
            "NULL::text".into(),
            "1".into(),
            "now()".into(),
            "1048576".into(),
            "0.001".into(),
            "NULL::bigint".into(),
            ten(id),
            ten("'INFO'::text"),
            "ARRAY['line 0','line 1','line 2','line 3','line 4','line 5','line 6','line 7','line 8','line 9']".into(),
            ten("NULL::text"),
            ten("now()"),
            "ARRAY['1-0','1-1','1-2','1-3','1-4','1-5','1-6','1-7','1-8','1-9']".into(),
            ten("1::bigint"),
            "ARRAY[0,1,2,3,4,5,6,7,8,9]::bigint[]".into(),
        ],
    );
    format!("\\set r random(1, 9000000000000000)\n{insert};\n{finish};\n")
}

async fn measure(
    section: &mut Section,
    ctx: &Ctx,
    backends: &str,
    service: ExecutionsService,
    floor_url: Option<&str>,
) -> anyhow::Result<()> {
    let targeted = floor_url.is_some();
    let script = std::env::temp_dir().join(format!("bifrost-bench-run-{}.sql", std::process::id()));
    if floor_url.is_some() {
        std::fs::write(&script, floor_script())?;
    }
    let mut floor = Vec::new();
    let transactions = ctx.rounds(2000).max(50) as u32;
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
            if let (1, Some(url)) = (c, floor_url) {
                floor.push(pgbench(url, &script, "prepared", transactions)?);
            }
        }
        let r = median(&samples);
        section.row([
            backends.to_owned(),
            c.to_string(),
            fmt_rate(r),
            if targeted {
                format!(">= {}", fmt_rate(target_rate(c)))
            } else {
                String::new()
            },
            if targeted {
                verdict(r >= target_rate(c)).to_owned()
            } else {
                String::new()
            },
        ]);
        if c == 1 && !floor.is_empty() {
            let secs = median(&floor);
            section.row([
                "PostgreSQL alone: the run's two statements (`pgbench -M prepared`)".to_owned(),
                "1".to_owned(),
                fmt_rate(1.0 / secs),
                String::new(),
                String::new(),
            ]);
            section.note(format!(
                "One at a time, an execution took {} against PostgreSQL's own {} for its two \
                 statements (the row written `Running`, then the final status with the ten log \
                 lines in one statement that returns the row; `pgbench` with one client runs \
                 the store's SQL text, `PostgresStore::run_sql`, as prepared statements, \
                 {} transactions per sample, alternating with ours): ours is {} of that \
                 ceiling, which is {} on its own.",
                fmt_secs(1.0 / median(&samples)),
                fmt_secs(secs),
                transactions,
                fmt_ratio(median(&samples) * secs),
                fmt_rate(1.0 / secs),
            ));
        }
    }
    if let Some(url) = floor_url {
        let _ = std::fs::remove_file(&script);
        let out = std::process::Command::new("psql")
            .args(["-q", "-c"])
            .arg(format!(
                "DELETE FROM executions WHERE workflow_name = '{FLOOR_WORKFLOW}'"
            ))
            .arg(url)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
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
         another for 3 s: the row created, the instance run, the lines streamed, the final \
         status written with the log (the stream brought up to date meanwhile) and the \
         execution read back in the same statement; the stream is deleted after the run \
         returns. Every run is checked (`Success`, ten log entries). A sample is completed \
         executions over elapsed time; the median of 3 samples is quoted. One at a time, \
         `pgbench` runs the two statements of an execution between the samples.",
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
    measure(&mut section, ctx, "PostgreSQL + Redis", service, Some(&url)).await?;

    let dir = std::env::temp_dir().join(format!("bifrost-bench-{}", std::process::id()));
    let embedded = setup::embedded_service(&dir).await?;
    let outcome = measure(
        &mut section,
        ctx,
        "embedded (SQLite, live lines in the same file)",
        embedded,
        None,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;
    Ok(section)
}
