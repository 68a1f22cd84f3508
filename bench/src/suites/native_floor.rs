//! 12. Native `list` against PostgreSQL's own floor: the same SQL text run by `pgbench`
//!     (simple, extended and prepared protocol), then each layer of ours on top of it (sqlx
//!     with the rows left undecoded, unnamed and prepared, the store decoding them into the
//!     model, the service),
//!     in the same run, so that the table shows where the time between PostgreSQL's answer
//!     and the call's return goes.

use std::process::Command;
use std::time::Instant;

use bifrost_core::Identity;
use bifrost_core::query::ListFilter;
use bifrost_core::store::ExecutionReader;
use bifrost_sql::PostgresStore;

use crate::report::{Section, verdict};
use crate::stats::{fmt_ratio, fmt_secs, median, per_call};
use crate::{Ctx, setup};

/// Target: the service's `list` within 1.3 times PostgreSQL's unprepared floor.
const TARGET_RATIO: f64 = 1.3;

/// One `pgbench` run of `script` in `mode`: the seconds per transaction it reports
/// (`latency average`, which leaves out connecting).
pub(crate) fn pgbench(
    url: &str,
    script: &std::path::Path,
    mode: &str,
    transactions: u32,
) -> anyhow::Result<f64> {
    let out = Command::new("pgbench")
        .args(["-n", "-M", mode, "-t", &transactions.to_string(), "-f"])
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run pgbench (PostgreSQL's client tools): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench -M {mode}: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let ms: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("latency average = "))
        .and_then(|rest| rest.strip_suffix(" ms"))
        .ok_or_else(|| anyhow::anyhow!("pgbench printed no latency average: {text}"))?
        .parse()?;
    Ok(ms / 1e3)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "native-floor",
        "12. Native `list` against PostgreSQL's own floor",
        "`list` of 50 as a platform admin (no filter, first page) on the seeded million-row \
         table. `pgbench` runs the very SQL text the store sends (`PostgresStore::list_sql`, \
         the limit as a parameter) over one connection, in simple, extended (an unnamed \
         statement) and prepared protocol; then each layer of ours on the same query: sqlx \
         fetching the rows without decoding them, as an unnamed statement (which sqlx \
         describes in a round trip of its own) and as the prepared statement the store sends \
         (its connections plan each execution with its values: `plan_cache_mode = \
         force_custom_plan`), the store decoding the rows into the model, and the service \
         (validation, visibility: the call a guest's `list` reaches); and, to tell the \
         option's cost from the statement kind's, the prepared statement on a plain \
         connection (PostgreSQL may switch to a generic plan after five runs) and the \
         unnamed one on a connection with the option. A sample is the time per call over n \
         calls; the nine are sampled in rotating order in each round. The floor is the \
         faster of pgbench's two unprepared modes.",
        &["what", "median", "over the floor"],
    );
    let (service, store) = ctx.scale_service().await?;
    let who = Identity::operator();
    let filter = ListFilter {
        limit: Some(50),
        ..ListFilter::default()
    };
    let query = filter.validate(None)?;
    let sql = PostgresStore::list_sql(&who.scope(), &query, who.is_platform_admin);
    anyhow::ensure!(
        sql.matches('$').count() == 1 && sql.ends_with("LIMIT $1"),
        "the unfiltered list binds only its limit: {sql}"
    );
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("list.sql");
    std::fs::write(
        &script,
        format!("\\set lim 50\n{};\n", sql.replace("$1", ":lim")),
    )?;
    let url = ctx.servers.url_of(setup::SCALE_DB);
    let n = ctx.scaled(200);
    let transactions = ctx.scaled(1000);

    // Each statement kind on a pool of its own, with and without the store's list-pool
    // option: no statement cache shared, and the option's cost apart from the kind's.
    let plain = async || {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
    };
    let custom_plans = async || {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(
                url.parse::<sqlx::postgres::PgConnectOptions>()?
                    .options([("plan_cache_mode", "force_custom_plan")]),
            )
            .await
    };
    let pool = plain().await?;
    let prepared_pool = custom_plans().await?;
    let plain_prepared_pool = plain().await?;
    let custom_unnamed_pool = custom_plans().await?;
    // The statement straight through sqlx, its rows left undecoded.
    let fetch = async |pool: &sqlx::PgPool, persistent: bool| {
        per_call(n, async || {
            let rows = sqlx::query(&sql)
                .bind(50i64)
                .persistent(persistent)
                .fetch_all(pool)
                .await?;
            anyhow::ensure!(rows.len() == 50);
            Ok(())
        })
        .await
    };
    let decoded = async || {
        per_call(n, async || {
            anyhow::ensure!(store.list(&who.scope(), &query, true).await?.len() == 50);
            Ok(())
        })
        .await
    };
    let called = async || {
        per_call(n, async || {
            anyhow::ensure!(service.list(&who, &filter).await?.len() == 50);
            Ok(())
        })
        .await
    };
    let names = [
        "pgbench -M simple",
        "pgbench -M extended",
        "pgbench -M prepared",
        "sqlx, unnamed statement, rows not decoded",
        "store `list` (rows decoded into the model)",
        "service `list`",
        "sqlx, prepared statement (custom plans), rows not decoded",
        "sqlx, prepared statement, plain connection, rows not decoded",
        "sqlx, unnamed statement, custom-plan connection, rows not decoded",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    // Warm up every layer once, then rotate.
    let started = Instant::now();
    for round in 0..=ctx.rounds(9) {
        for k in 0..names.len() {
            let which = (round + k) % names.len();
            let t = match which {
                0 => pgbench(&url, &script, "simple", transactions)?,
                1 => pgbench(&url, &script, "extended", transactions)?,
                2 => pgbench(&url, &script, "prepared", transactions)?,
                3 => fetch(&pool, false).await?,
                4 => decoded().await?,
                5 => called().await?,
                6 => fetch(&prepared_pool, true).await?,
                7 => fetch(&plain_prepared_pool, true).await?,
                _ => fetch(&custom_unnamed_pool, false).await?,
            };
            if round > 0 {
                samples[which].push(t);
            }
        }
    }
    let medians: Vec<f64> = samples.iter().map(|s| median(s)).collect();
    let floor = medians[0].min(medians[1]);
    for (name, m) in names.iter().zip(&medians) {
        section.row([(*name).to_owned(), fmt_secs(*m), fmt_ratio(m / floor)]);
    }
    let ratio = medians[5] / floor;
    section.row([
        format!("target: service <= {TARGET_RATIO:.1}x the floor"),
        String::new(),
        format!("{} {}", fmt_ratio(ratio), verdict(ratio <= TARGET_RATIO)),
    ]);
    section.note(format!(
        "n = {n} calls per sample for ours, {transactions} transactions per pgbench run; \
         {} rounds in {:.0} s.",
        samples[0].len(),
        started.elapsed().as_secs_f64()
    ));
    section.note(format!("The SQL: `{sql}`"));
    Ok(section)
}
