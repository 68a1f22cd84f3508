//! 9. Storing a capped log: the end of a run writes its whole log (up to the 100,000-line
//!    cap) and its final status; 10,000 against 100,000 lines on each store, so that the
//!    ratio shows how the time grows with the log.

use std::time::Instant;

use bifrost_core::ExecutionsService;
use bifrost_core::model::{ExecutionStatus, LogEntry, LogLevel, Outcome, StreamId};
use uuid::Uuid;

use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, median, thousands};
use crate::{Ctx, setup};

/// The log sizes, in lines: the two and one between them.
const SIZES: [u32; 3] = [10_000, 30_000, 100_000];
/// Target: the capped log stored in a couple of seconds.
const TARGET_SECS: f64 = 2.0;
/// Linear growth: the cost per line at the cap within this of its cost at 30,000 lines.
const TARGET_PER_LINE_GROWTH: f64 = 1.2;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let sizes = SIZES.map(|n| ctx.scaled(n));
    let mut section = Section::new(
        "log-store",
        "9. Storing a capped log",
        &format!(
            "A Running execution's log of {}, {} and {} lines (a message of 30-odd bytes, \
             metadata on every other line) is stored with its final status by \
             `RunRecorder::finish_with_logs`, what a runner does at the end of a run; \
             the sizes alternate in each round, on a fresh execution each time. Linear \
             growth shows as a flat cost per line, and a ratio near 10x between the first \
             and the last size.",
            thousands(u64::from(sizes[0])),
            thousands(u64::from(sizes[1])),
            thousands(u64::from(sizes[2]))
        ),
        &[
            "store",
            &format!("median {} lines", thousands(u64::from(sizes[0]))),
            &format!("median {} lines", thousands(u64::from(sizes[1]))),
            &format!("median {} lines", thousands(u64::from(sizes[2]))),
            "µs per line, each size",
            "ratio, last to first",
            "target",
            "result",
        ],
    );
    let url = ctx.servers.database(setup::RUNS_DB, false).await?;
    let (postgres, _) = ctx.servers.service(&url).await?;
    let dir = std::env::temp_dir().join(format!("bifrost-bench-log-store-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = setup::embedded_service(&dir).await?;
    for (name, service) in [("PostgreSQL", &postgres), ("SQLite", &sqlite)] {
        let mut samples: [Vec<f64>; 3] = Default::default();
        for round in 0..=ctx.rounds(5) {
            for (i, &n) in sizes.iter().enumerate() {
                let t = store_log(service, n).await?;
                if round > 0 {
                    samples[i].push(t);
                }
            }
        }
        let t = samples.map(|s| median(&s));
        let per_line: Vec<f64> = t
            .iter()
            .zip(sizes)
            .map(|(t, n)| t * 1e6 / f64::from(n))
            .collect();
        let met = t[2] <= TARGET_SECS && per_line[2] <= per_line[1] * TARGET_PER_LINE_GROWTH;
        section.row([
            name.to_owned(),
            fmt_secs(t[0]),
            fmt_secs(t[1]),
            fmt_secs(t[2]),
            per_line
                .iter()
                .map(|p| format!("{p:.2}"))
                .collect::<Vec<_>>()
                .join(" / "),
            fmt_ratio(t[2] / t[0]),
            format!(
                "last <= {TARGET_SECS:.0} s; per line at the last <= {TARGET_PER_LINE_GROWTH}x the middle"
            ),
            verdict(met).into(),
        ]);
    }
    let _ = std::fs::remove_dir_all(&dir);
    section.note(
        "Before the numbering of a log was looked up once per statement, each inserted line \
         walked past the lines already stored, and those the statement had inserted: 5,000 \
         lines took 0.7 s, 15,000 took 7.0 s, and a capped log of 100,000 about eight \
         minutes (issue 12's measurements; 5,000 lines in one statement alone took 2 s).",
    );
    Ok(section)
}

/// Stores a log of `lines` lines with the final status of a new Running execution, checks
/// that all are stored, and returns the seconds the store took.
async fn store_log(service: &ExecutionsService, lines: u32) -> anyhow::Result<f64> {
    let store = service.recorder();
    let id = Uuid::new_v4();
    let now = chrono::Utc::now();
    crate::setup::create_running(&**store, id, "bench-log-store").await?;
    let base = now.timestamp_millis() as u64;
    let entries: Vec<LogEntry> = (0..u64::from(lines))
        .map(|i| LogEntry {
            id: StreamId {
                ms: base + i / 10,
                seq: i % 10,
            },
            execution_id: id,
            level: LogLevel::Info,
            message: format!("processed record {i} of the batch"),
            metadata: (i % 2 == 0).then(|| (&serde_json::json!({"record": i})).into()),
            timestamp: now,
        })
        .collect();
    let outcome = Outcome {
        status: ExecutionStatus::Success,
        result: Some(serde_json::json!({"ok": true})),
        result_type: Some("json".into()),
        error_message: None,
        duration_ms: 1,
        completed_at: now,
        peak_memory_bytes: 0,
        cpu_total_seconds: 0.0,
        log_lines_dropped: 0,
    };
    let start = Instant::now();
    let done = store.finish_with_logs(id, &outcome, &entries).await?;
    let t = start.elapsed().as_secs_f64();
    anyhow::ensure!(done.status == ExecutionStatus::Success);
    let last = service
        .reader()
        .read_logs(id, entries[entries.len() - 1].id, 10)
        .await?;
    anyhow::ensure!(last.len() == 1, "the last line is stored");
    Ok(t)
}
