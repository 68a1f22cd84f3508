//! 4. Log ingest: one workflow writing 100,000 lines into Redis, against one XADD round
//!    trip per line (the reference platform's way) and against a native pipelined append
//!    of the same lines (the floor: no guest, no host call).

use std::time::Instant;

use bifrost_core::Identity;
use bifrost_core::logs::LogStream;
use bifrost_core::model::{LogEntry, LogLevel, StreamId};
use bifrost_runner::{Ended, RunRequest};
use redis::AsyncCommands as _;
use serde_json::json;
use uuid::Uuid;

use crate::report::{Section, verdict};
use crate::stats::{fmt_rate, fmt_ratio, median, thousands};
use crate::{Ctx, guests, setup};

/// Target: at least 200,000 lines a second into Redis per runner.
const TARGET_RATE: f64 = 200_000.0;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    // On a multi-threaded runtime, as in a runner: the guest logs on one worker while the
    // log writer streams on another.
    crate::on_multi_thread(|| run_here(ctx))
}

async fn run_here(ctx: &Ctx) -> anyhow::Result<Section> {
    let lines = ctx.scaled(100_000);
    let mut section = Section::new(
        "ingest",
        "4. Log ingest into Redis",
        &format!(
            "One execution of the bench workflow logs {} lines through the `log` crate \
             (`log::info!(\"line {{i}}\")`); the sample is the time from `Runner::execute` \
             until its log writer has every line in the Redis stream (checked with XLEN). \
             The reference platform's way is one awaited XADD per line from native Rust; \
             the floor is the same lines appended natively in pipelined batches of 1,000 \
             (what the host's writer does, without a guest). The three alternate in each \
             round, on a multi-threaded runtime (a worker per core), as in a runner.",
            thousands(u64::from(lines))
        ),
        &[
            "path",
            "median lines/s",
            "ratio to one XADD per line",
            "target",
            "result",
        ],
    );
    let servers = &ctx.servers;
    let url = servers.database(setup::RUNS_DB, false).await?;
    let (service, _) = servers.service(&url).await?;
    let redis = servers.redis().await?;
    let mut conn = servers.redis_connection().await?;
    let runner = setup::runner(service, true)?;
    let wf = setup::load(&runner, guests::BENCH)?;
    let request = RunRequest {
        workflow_name: "bench-ingest".into(),
        input: json!({"op": "log", "n": lines}),
        identity: Identity::operator(),
        form_id: None,
        parent_execution_id: None,
        session_id: None,
    };

    let (mut ours, mut per_line, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=ctx.rounds(5) {
        // Ours: guest -> host -> writer -> Redis.
        let id = Uuid::new_v4();
        let start = Instant::now();
        let done = runner.execute(&wf, &request, id).await;
        let t = start.elapsed().as_secs_f64();
        anyhow::ensure!(matches!(done.ended, Ended::Returned(_)), "{:?}", done.ended);
        anyhow::ensure!(done.logs.entries.len() == lines as usize && done.logs.not_streamed == 0);
        let len: u64 = conn.xlen(redis.key(id)).await?;
        anyhow::ensure!(len == u64::from(lines), "stream holds {len} of {lines}");
        redis.delete(id).await?;

        // One XADD per line, awaited, with the fields the reference platform writes.
        let id = Uuid::new_v4();
        let key = redis.key(id);
        let start = Instant::now();
        for i in 0..lines {
            let _: String = conn
                .xadd(
                    &key,
                    "*",
                    &[
                        ("execution_id", id.to_string()),
                        ("level", "INFO".to_owned()),
                        ("message", format!("line {i}")),
                        ("metadata", "{}".to_owned()),
                        ("timestamp", chrono::Utc::now().to_rfc3339()),
                    ],
                )
                .await?;
        }
        let t_per_line = start.elapsed().as_secs_f64();
        let _: () = conn.del(&key).await?;

        // The floor: the same lines, pipelined natively.
        let id = Uuid::new_v4();
        let now = chrono::Utc::now();
        let entries: Vec<LogEntry> = (0..lines)
            .map(|i| LogEntry {
                id: StreamId {
                    ms: 1 + u64::from(i),
                    seq: 0,
                },
                execution_id: id,
                level: LogLevel::Info,
                message: format!("line {i}"),
                metadata: None,
                timestamp: now,
            })
            .collect();
        let start = Instant::now();
        for batch in entries.chunks(1000) {
            redis.append(batch).await?;
        }
        let t_floor = start.elapsed().as_secs_f64();
        redis.delete(id).await?;

        if round > 0 {
            // Round 0 warms up.
            ours.push(f64::from(lines) / t);
            per_line.push(f64::from(lines) / t_per_line);
            floor.push(f64::from(lines) / t_floor);
        }
    }
    let (ours, per_line, floor) = (median(&ours), median(&per_line), median(&floor));
    section.row([
        "workflow via the host (ours)".to_owned(),
        fmt_rate(ours),
        fmt_ratio(ours / per_line),
        format!(">= {}", fmt_rate(TARGET_RATE)),
        verdict(ours >= TARGET_RATE).into(),
    ]);
    section.row([
        "one XADD per line (reference)".to_owned(),
        fmt_rate(per_line),
        "1.00x".into(),
        String::new(),
        String::new(),
    ]);
    section.row([
        "native pipelined append (floor)".to_owned(),
        fmt_rate(floor),
        fmt_ratio(floor / per_line),
        String::new(),
        String::new(),
    ]);
    section.note(format!(
        "Ours reaches {:.0}% of the native pipelined floor.",
        100.0 * ours / floor
    ));
    Ok(section)
}
