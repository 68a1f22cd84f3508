//! 17. Purging: `executions purge` deletes a million executions of 20 log lines each, in
//!     batches, while `list` and `get` go on beside it; their p99 during the purge against
//!     their p99 just before it, in the same run, on the same table: half of it back to
//!     back, half of it paced.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bifrost_core::Identity;
use bifrost_core::query::ListFilter;
use bifrost_runner::retention::{PURGE_BATCH, Purge};
use sqlx::{Connection as _, PgConnection};

use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, median, thousands};
use crate::{Ctx, seed};

/// The purge benchmark's database, made anew on every run (the purge empties it).
const PURGE_DB: &str = "bifrost_bench_purge";
/// Log lines of every execution.
const LINES: i64 = 20;
/// Executions ended within the last hours, which the purge keeps: `get` and `list` read
/// them.
const RECENT: i64 = 10_000;
/// Target: `list` and `get` p99 during the purge within this of their p99 without it.
const TARGET_RATIO: f64 = 2.0;
/// The pause of the paced purge, after each statement.
const PAUSE: Duration = Duration::from_millis(250);

/// The latencies of one kind of call, in seconds.
#[derive(Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn p99(&self) -> f64 {
        percentile(&self.0, 0.99)
    }
    fn p50(&self) -> f64 {
        median(&self.0)
    }
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * p).round() as usize]
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let old = if ctx.quick { 100_000 } else { 1_000_000 };
    let mut section = Section::new(
        "purge",
        "17. Purging old executions beside list and get",
        &format!(
            "A database of its own holds {} executions that ended in the year before \
             2026-11-01 and {} that ended in the last hours, each with {LINES} stored log \
             lines ({} lines; the million-row table's spread, `scripts/bench seed`). One \
             client calls, in turn, `list` of 50 as a platform admin, `list` of 50 as the \
             heaviest regular user, and `get` of a recent execution (with its log), for {} s \
             alone, then while `bifrost_runner::retention::purge` deletes the older half of \
             the old executions back to back, {} a statement (the default `--batch`), \
             oldest first, their log lines by `ON DELETE CASCADE`; then {} s alone again, \
             then while the rest of the old ones are purged with a pause of {} ms after \
             each statement (`--pause-ms`). Each purge's p99 is compared with the p99 of the \
             quiet time just before it. Then `VACUUM` of the two tables, which autovacuum \
             would do in its own time.",
            thousands(old),
            thousands(RECENT as u64),
            thousands((old + RECENT as u64) * LINES as u64),
            quiet_secs(ctx),
            thousands(u64::from(PURGE_BATCH)),
            quiet_secs(ctx),
            PAUSE.as_millis(),
        ),
        &[
            "call",
            "p50 / p99 alone",
            "p50 / p99 during the purge",
            "p99 ratio",
            &format!(
                "p50 / p99 alone, then during the purge paced {} ms",
                PAUSE.as_millis()
            ),
            "p99 ratio, paced",
            "target",
            "result",
        ],
    );
    let url = ctx.servers.database(PURGE_DB, true).await?;
    let made = Instant::now();
    seed::seed_in(&url, old).await?;
    let (recent_ids, user, organization) = add_recent_and_logs(&url).await?;
    let seeded = made.elapsed();
    let mut conn = PgConnection::connect(&url).await?;
    let (execution_bytes, log_bytes): (i64, i64) = sqlx::query_as(
        "SELECT pg_total_relation_size('executions'), pg_total_relation_size('execution_logs')",
    )
    .fetch_one(&mut conn)
    .await?;
    // The older half of the old executions ended before this.
    let (half,): (chrono::DateTime<chrono::Utc>,) = sqlx::query_as(
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY completed_at) FROM executions \
         WHERE completed_at < now() - interval '7 days'",
    )
    .fetch_one(&mut conn)
    .await?;
    let backends = bifrost_runner::backends::BackendConfig {
        database_url: Some(url.clone()),
        ..Default::default()
    }
    .connect_all()
    .await?;
    let reader = Reader {
        service: backends.service.clone(),
        admin: Identity::operator(),
        regular: Identity {
            user_id: user,
            user_name: "user 1".into(),
            organization_id: Some(organization),
            is_platform_admin: false,
        },
        ids: recent_ids,
    };
    let quiet_for = Duration::from_secs(quiet_secs(ctx));
    let purge = |before, pause| {
        let backends = backends.clone();
        async move {
            bifrost_runner::retention::purge(
                &*backends.queue,
                &*backends.workflows,
                &*backends.access,
                &Purge {
                    before,
                    statuses: Vec::new(),
                    batch: PURGE_BATCH,
                    versions_before: None,
                    pause,
                },
                &Identity::operator(),
                "bench",
                true,
            )
            .await
        }
    };
    let (quiet_a, ()) = reader.beside(tokio::time::sleep(quiet_for)).await?;
    let (busy_a, first) = reader.beside(purge(half, Duration::ZERO)).await?;
    let first = first?;
    let (quiet_b, ()) = reader.beside(tokio::time::sleep(quiet_for)).await?;
    let week = chrono::Utc::now() - chrono::Duration::days(7);
    let (busy_b, second) = reader.beside(purge(week, PAUSE)).await?;
    let second = second?;
    anyhow::ensure!(
        first.deleted + second.deleted == old,
        "purged {} + {} of {old}",
        first.deleted,
        second.deleted
    );
    let (left, lines_left): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM executions), (SELECT count(*) FROM execution_logs)",
    )
    .fetch_one(&mut conn)
    .await?;
    anyhow::ensure!(left == RECENT && lines_left == RECENT * LINES);
    let vacuumed = Instant::now();
    sqlx::query("VACUUM executions, execution_logs")
        .execute(&mut conn)
        .await?;
    let vacuum = vacuumed.elapsed();

    let mut met = true;
    for (i, name) in [
        "`list` 50, platform admin",
        "`list` 50, regular user",
        "`get`, a recent execution",
    ]
    .into_iter()
    .enumerate()
    {
        let ratio_a = busy_a[i].p99() / quiet_a[i].p99();
        let ratio_b = busy_b[i].p99() / quiet_b[i].p99();
        let ok = ratio_a <= TARGET_RATIO || ratio_b <= TARGET_RATIO;
        met &= ok;
        section.row([
            name.to_owned(),
            format!(
                "{} / {}",
                fmt_secs(quiet_a[i].p50()),
                fmt_secs(quiet_a[i].p99())
            ),
            format!(
                "{} / {}",
                fmt_secs(busy_a[i].p50()),
                fmt_secs(busy_a[i].p99())
            ),
            fmt_ratio(ratio_a),
            format!(
                "{} / {}, then {} / {}",
                fmt_secs(quiet_b[i].p50()),
                fmt_secs(quiet_b[i].p99()),
                fmt_secs(busy_b[i].p50()),
                fmt_secs(busy_b[i].p99())
            ),
            fmt_ratio(ratio_b),
            format!("p99 ratio <= {TARGET_RATIO:.0}x, either way"),
            verdict(ok).into(),
        ]);
    }
    let rows = old + RECENT as u64;
    section.note(format!(
        "On disk before the purge, tables with their indexes and TOAST: `executions` {} MiB, \
         {} bytes an execution (its 19 indexes included); `execution_logs` {} MiB, {} bytes \
         a line (the lines are 30-odd bytes of text, metadata on every other one).",
        execution_bytes / (1 << 20),
        execution_bytes as u64 / rows,
        log_bytes / (1 << 20),
        log_bytes as u64 / (rows * LINES as u64),
    ));
    for (what, report, quiet, busy) in [
        ("back to back", &first, &quiet_a, &busy_a),
        ("paced", &second, &quiet_b, &busy_b),
    ] {
        let lines = report.deleted * LINES as u64;
        section.note(format!(
            "The purge {what}: {} executions and {} log lines in {} ({} statements): {} \
             executions a second, {} rows a second in all; {} calls alone and {} during it.",
            thousands(report.deleted),
            thousands(lines),
            fmt_secs(report.seconds),
            thousands(report.batches),
            thousands((report.deleted as f64 / report.seconds) as u64),
            thousands(((report.deleted + lines) as f64 / report.seconds) as u64),
            thousands(quiet.iter().map(|s| s.0.len() as u64).sum()),
            thousands(busy.iter().map(|s| s.0.len() as u64).sum()),
        ));
    }
    section.note(format!(
        "`VACUUM` of both tables after it took {} (a delete frees no disk; the space is \
         reused by later rows once vacuumed). Seeding took {}. Target {}.",
        fmt_secs(vacuum.as_secs_f64()),
        fmt_secs(seeded.as_secs_f64()),
        if met { "met" } else { "not met" },
    ));
    Ok(section)
}

/// One client's calls, in turn, beside other work.
struct Reader {
    service: bifrost_core::ExecutionsService,
    admin: Identity,
    regular: Identity,
    ids: Arc<Vec<uuid::Uuid>>,
}

impl Reader {
    /// Calls `list` (admin), `list` (regular user) and `get` in turn until `work` is done;
    /// returns the latencies of each and what `work` gave.
    async fn beside<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> anyhow::Result<([Samples; 3], T)> {
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (service, stop, ids) = (self.service.clone(), stop.clone(), self.ids.clone());
            let (admin, regular) = (self.admin.clone(), self.regular.clone());
            tokio::spawn(async move {
                let mut samples: [Samples; 3] = Default::default();
                let filter = ListFilter {
                    limit: Some(50),
                    ..Default::default()
                };
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let rows = service.list(&admin, &filter).await?;
                    samples[0].0.push(t.elapsed().as_secs_f64());
                    anyhow::ensure!(rows.len() == 50);
                    let t = Instant::now();
                    let rows = service.list(&regular, &filter).await?;
                    samples[1].0.push(t.elapsed().as_secs_f64());
                    anyhow::ensure!(!rows.is_empty(), "the regular user sees executions");
                    let t = Instant::now();
                    let id = ids[i % ids.len()];
                    service.get(&admin, &id.to_string()).await?;
                    samples[2].0.push(t.elapsed().as_secs_f64());
                    i += 7919;
                }
                Ok::<_, anyhow::Error>(samples)
            })
        };
        let out = work.await;
        stop.store(true, Ordering::Relaxed);
        Ok((task.await??, out))
    }
}

fn quiet_secs(ctx: &Ctx) -> u64 {
    if ctx.quick { 3 } else { 20 }
}

/// Adds [`RECENT`] executions that ended in the last hours (copies of seeded ones under
/// new ids) and [`LINES`] log lines to every execution, the log's secondary indexes and
/// foreign key dropped for the insert and made again after it; returns the recent ids, the
/// heaviest regular user and their organisation.
async fn add_recent_and_logs(
    url: &str,
) -> anyhow::Result<(Arc<Vec<uuid::Uuid>>, uuid::Uuid, uuid::Uuid)> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query("SET synchronous_commit = off")
        .execute(&mut conn)
        .await?;
    sqlx::query("SET maintenance_work_mem = '512MB'")
        .execute(&mut conn)
        .await?;
    sqlx::query(
        "INSERT INTO executions (id, workflow_name, status, parameters, result, result_type, \
             error_message, duration_ms, started_at, completed_at, created_at, executed_by, \
             executed_by_name, organization_id, peak_memory_bytes, cpu_total_seconds) \
         SELECT md5('recent-' || s.n)::uuid, workflow_name, status, parameters, result, \
             result_type, error_message, duration_ms, \
             now() - s.n * interval '1 second', \
             now() - s.n * interval '1 second' + duration_ms * interval '1 millisecond', \
             now() - s.n * interval '1 second', executed_by, executed_by_name, \
             organization_id, peak_memory_bytes, cpu_total_seconds \
         FROM (SELECT e.*, row_number() OVER (ORDER BY id) AS n FROM executions e \
               ORDER BY id LIMIT $1) s",
    )
    .bind(RECENT)
    .execute(&mut conn)
    .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname, indexdef FROM pg_indexes \
         WHERE tablename = 'execution_logs' AND indexname <> 'execution_logs_pkey'",
    )
    .fetch_all(&mut conn)
    .await?;
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'execution_logs'::regclass AND contype = 'f'",
    )
    .fetch_all(&mut conn)
    .await?;
    for (name, _) in &keys {
        sqlx::query(&format!(
            "ALTER TABLE execution_logs DROP CONSTRAINT {name}"
        ))
        .execute(&mut conn)
        .await?;
    }
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO execution_logs (execution_id, level, message, log_metadata, \"timestamp\", \
             sequence, stream_id, stream_ms, stream_seq) \
         SELECT e.id, 'INFO', 'processed record ' || s || ' of the batch', \
             CASE WHEN s % 2 = 0 THEN jsonb_build_object('record', s) END, \
             e.started_at + s * interval '1 millisecond', s, \
             ((extract(epoch FROM e.started_at) * 1000)::bigint + s) || '-0', \
             (extract(epoch FROM e.started_at) * 1000)::bigint + s, 0 \
         FROM executions e, generate_series(0, $1 - 1) s",
    )
    .bind(LINES)
    .execute(&mut conn)
    .await?;
    for (_, def) in &indexes {
        sqlx::query(def).execute(&mut conn).await?;
    }
    for (name, def) in &keys {
        sqlx::query(&format!(
            "ALTER TABLE execution_logs ADD CONSTRAINT {name} {def}"
        ))
        .execute(&mut conn)
        .await?;
    }
    sqlx::query("VACUUM ANALYZE executions, execution_logs")
        .execute(&mut conn)
        .await?;
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT id FROM executions WHERE completed_at > now() - interval '1 day'",
    )
    .fetch_all(&mut conn)
    .await?;
    anyhow::ensure!(ids.len() as i64 == RECENT);
    let (user, organization): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT md5('user-1')::uuid, md5('org-1')::uuid")
            .fetch_one(&mut conn)
            .await?;
    Ok((Arc::new(ids), user, organization))
}
