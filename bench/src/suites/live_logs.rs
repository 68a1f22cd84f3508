//! 5. `get_current_logs` of 100 entries from a guest, against a native XRANGE of the same
//!    entries (and the host's own native read, between the two).

use std::time::Instant;

use bifrost_core::Identity;
use bifrost_core::logs::LogStream;
use bifrost_core::model::{ExecutionStatus, LogEntry, LogLevel, StreamId};
use bifrost_core::query::LogRange;
use bifrost_runner::{Ended, RunRequest};
use redis::AsyncCommands as _;
use redis::streams::StreamRangeReply;
use serde_json::json;
use uuid::Uuid;

use crate::report::Section;
use crate::stats::{fmt_ratio, fmt_secs, paired, per_call};
use crate::{Ctx, guests, setup};

/// Entries in the stream and per read.
const ENTRIES: u32 = 100;

/// A live stream of 100 entries, shaped like a workflow's (a level, a message, metadata
/// on every other line); returns its execution id.
pub async fn prepare_stream(redis: &dyn LogStream) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v4();
    let now = chrono::Utc::now();
    let base = now.timestamp_millis() as u64;
    let entries: Vec<LogEntry> = (0..u64::from(ENTRIES))
        .map(|i| LogEntry {
            id: StreamId {
                ms: base + i,
                seq: 0,
            },
            execution_id: id,
            level: if i % 10 == 9 {
                LogLevel::Warning
            } else {
                LogLevel::Info
            },
            message: format!("processed batch {i} of the nightly import"),
            metadata: (i % 2 == 0).then(|| (&json!({"batch": i, "rows": 500})).into()),
            timestamp: now,
        })
        .collect();
    redis.append(&entries).await?;
    Ok(id)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "live-logs",
        "5. Live logs: `get_current_logs` from a guest against XRANGE",
        "A Redis stream holds 100 log entries of a running execution. The guest, bound to \
         that execution (`Runner::execute`), calls `get_current_logs` with count 100, n \
         times in one instance (each call first flushes its own pending lines, here none); \
         the native baselines read the same 100 entries n times: the host's own reader \
         (`ExecutionsService::read_logs`, parsed into entries) and a bare redis-rs \
         `XRANGE key - + COUNT 100`. A sample is the time per read; the three alternate.",
        &["reader", "median per read of 100", "ratio to XRANGE"],
    );
    let servers = &ctx.servers;
    let url = servers.database(setup::RUNS_DB, false).await?;
    let (service, _) = servers.service(&url).await?;
    let redis = servers.redis().await?;
    let mut conn = servers.redis_connection().await?;
    let runner = setup::runner(service.clone(), true)?;
    let wf = setup::load(&runner, guests::BENCH)?;
    let id = prepare_stream(redis.as_ref()).await?;
    let key = redis.key(id);
    let n = ctx.scaled(200);
    let request = RunRequest {
        workflow_name: "bench-live-logs".into(),
        input: json!({"op": "logs", "n": n, "count": ENTRIES}),
        identity: Identity::operator(),
        form_id: None,
        parent_execution_id: None,
        session_id: None,
    };
    let guest = async || -> anyhow::Result<f64> {
        let start = Instant::now();
        let done = runner.execute(&wf, &request, id).await;
        let t = start.elapsed().as_secs_f64();
        match &done.ended {
            Ended::Returned(text) => {
                let v: serde_json::Value = serde_json::from_str(text)?;
                anyhow::ensure!(v["items"] == u64::from(n * ENTRIES), "guest saw {v}");
            }
            other => anyhow::bail!("bench workflow ended {other:?}"),
        }
        Ok(t / f64::from(n))
    };
    let range = LogRange::validate(None, Some(ENTRIES))?;
    let host_native = async || {
        per_call(n, async || {
            let got = service
                .read_logs(id, ExecutionStatus::Running, range)
                .await?;
            anyhow::ensure!(got.len() == ENTRIES as usize);
            Ok(())
        })
        .await
    };
    let xrange = async || {
        per_call(n, async || {
            let got: StreamRangeReply = conn.xrange_count(&key, "-", "+", ENTRIES).await?;
            anyhow::ensure!(got.ids.len() == ENTRIES as usize);
            Ok(())
        })
        .await
    };
    guest().await?;
    let g = paired(ctx.rounds(11), guest, xrange).await?;
    let mut conn2 = servers.redis_connection().await?;
    let h = paired(ctx.rounds(11), host_native, async || {
        per_call(n, async || {
            let got: StreamRangeReply = conn2.xrange_count(&key, "-", "+", ENTRIES).await?;
            anyhow::ensure!(got.ids.len() == ENTRIES as usize);
            Ok(())
        })
        .await
    })
    .await?;
    redis.delete(id).await?;
    section.row([
        "guest `get_current_logs` (ours)".to_owned(),
        fmt_secs(g.a()),
        fmt_ratio(g.ratio()),
    ]);
    section.row([
        "host `read_logs`, native".to_owned(),
        fmt_secs(h.a()),
        // Against the XRANGE samples of its own pairing.
        fmt_ratio(h.ratio()),
    ]);
    section.row([
        "redis-rs XRANGE".to_owned(),
        fmt_secs(g.b()),
        "1.00x".into(),
    ]);
    section.note(format!(
        "n = {n} reads per sample. The XRANGE baseline decodes the reply into redis-rs's \
         stream types but does not parse levels, metadata or timestamps; the host's reader \
         does, and the guest's call adds the copy into the guest and its decoding there."
    ));
    Ok(section)
}
