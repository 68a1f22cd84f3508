//! The seeding tool: a table of executions with a realistic spread, made server-side in one
//! statement (`generate_series`), with the indexes dropped during the insert and rebuilt
//! after it, so that a million rows take seconds.
//!
//! The spread (fixed seed, so every run gets the same table):
//! - 5,000 users in 40 organisations; organisation sizes and user activity are log-uniform
//!   (a few large, many small); 3% of users belong to no organisation.
//! - One service account (`user 1`, organisation 1) starts 8% of all executions on top of
//!   its share: the heaviest "regular user" the list benchmark can pick.
//! - 300 workflows, log-uniform popularity (the most popular has about 12%).
//! - Statuses: Success 86%, Failed 8%, CompletedWithErrors 3%, Timeout 1.5%, Cancelled 1%,
//!   Stuck 0.5% (a year of history has nothing still Pending or Running).
//! - `started_at` uniform over the year before 2026-11-01; durations from 50 ms to 10 min.

use std::time::{Duration, Instant};

use sqlx::{Connection as _, PgConnection};

/// Bump when the spread changes: a table seeded by another version is made again.
const SEED_VERSION: i32 = 1;

/// The values the list benchmark filters on, as they are in the seeded table.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Rows in `executions`.
    pub rows: i64,
    /// The most popular workflow.
    pub workflow: String,
    /// The largest organisation.
    pub organization: uuid::Uuid,
    /// The heaviest regular user (a member of `organization`).
    pub user: uuid::Uuid,
    /// How long seeding took; `None` when an existing table was kept.
    pub seeded_in: Option<Duration>,
}

/// Makes sure the benchmarks' database on the server of `servers` exists, is migrated
/// and holds this version's table of `rows` executions; says what it did.
pub async fn ensure(servers: &crate::setup::Servers, rows: u64) -> anyhow::Result<Dataset> {
    let url = servers.database(crate::setup::SCALE_DB, false).await?;
    bifrost_sql::PostgresStore::connect(&url).await?;
    println!("seeding {rows} executions (once per table version)...");
    let d = seed(&url, rows).await?;
    match d.seeded_in {
        Some(t) => println!("seeded {} executions in {:.1} s", d.rows, t.as_secs_f64()),
        None => println!("kept the seeded table of {} executions", d.rows),
    }
    Ok(d)
}

/// Migrates the database at `url` and seeds `rows` executions into it, the spread of the
/// million-row table, unless it already holds this version's table of that size.
pub async fn seed_in(url: &str, rows: u64) -> anyhow::Result<()> {
    bifrost_sql::PostgresStore::connect(url)
        .await?
        .close()
        .await;
    seed(url, rows).await.map(drop)
}

/// Seeds `rows` executions into the (migrated) database at `url`, unless it already holds
/// this version's table of that size.
async fn seed(url: &str, rows: u64) -> anyhow::Result<Dataset> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_seed (rows bigint NOT NULL, version int NOT NULL)",
    )
    .execute(&mut conn)
    .await?;
    let done: Option<(i64, i32)> = sqlx::query_as("SELECT rows, version FROM bench_seed")
        .fetch_optional(&mut conn)
        .await?;
    let mut seeded_in = None;
    if done != Some((rows as i64, SEED_VERSION)) {
        let start = Instant::now();
        make(&mut conn, rows).await?;
        seeded_in = Some(start.elapsed());
    }
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM executions")
        .fetch_one(&mut conn)
        .await?;
    let (organization, user): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT md5('org-1')::uuid, md5('user-1')::uuid")
            .fetch_one(&mut conn)
            .await?;
    Ok(Dataset {
        rows,
        workflow: "workflow-001".into(),
        organization,
        user,
        seeded_in,
    })
}

async fn make(conn: &mut PgConnection, rows: u64) -> anyhow::Result<()> {
    sqlx::query("SET synchronous_commit = off")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET maintenance_work_mem = '512MB'")
        .execute(&mut *conn)
        .await?;
    sqlx::query("TRUNCATE execution_variables, execution_logs, executions, bench_seed")
        .execute(&mut *conn)
        .await?;
    // The migrations' indexes, dropped for the insert and made again from their own
    // definitions after it.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname, indexdef FROM pg_indexes \
         WHERE tablename = 'executions' AND indexname <> 'executions_pkey'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("SELECT setseed(0.4242)")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "CREATE TEMP TABLE bench_users AS \
         SELECT u AS idx, md5('user-' || u)::uuid AS id, 'user ' || u AS name, \
                CASE WHEN u = 1 THEN md5('org-1')::uuid \
                     WHEN random() < 0.03 THEN NULL \
                     ELSE md5('org-' || floor(exp(random() * ln(40)))::int)::uuid END AS org \
         FROM generate_series(1, 5000) u",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO executions (id, workflow_name, status, parameters, result, result_type, \
             error_message, duration_ms, started_at, completed_at, created_at, executed_by, \
             executed_by_name, organization_id, peak_memory_bytes, cpu_total_seconds) \
         SELECT md5('execution-' || s.g)::uuid, \
                'workflow-' || lpad(s.w::text, 3, '0'), \
                s.st::execution_status, \
                jsonb_build_object('n', s.g % 100, 'source', 'seed'), \
                CASE WHEN s.st = 'Success' THEN jsonb_build_object('ok', true, 'items', s.g % 17) END, \
                CASE WHEN s.st = 'Success' THEN 'json' END, \
                CASE WHEN s.st <> 'Success' THEN 'step ' || (s.g % 5) || ' ended ' || s.st END, \
                s.dur, s.t, s.t + s.dur * interval '1 millisecond', s.t - interval '40 milliseconds', \
                u.id, u.name, u.org, 2097152 + (s.g % 64) * 65536, s.dur / 4000.0 \
         FROM (SELECT g, \
                      floor(exp(random() * ln(300)))::int AS w, \
                      CASE WHEN random() < 0.08 THEN 1 ELSE floor(exp(random() * ln(5000)))::int END AS uidx, \
                      (SELECT CASE WHEN r < 0.86 THEN 'Success' WHEN r < 0.94 THEN 'Failed' \
                                   WHEN r < 0.97 THEN 'CompletedWithErrors' WHEN r < 0.985 THEN 'Timeout' \
                                   WHEN r < 0.995 THEN 'Cancelled' ELSE 'Stuck' END \
                       FROM (SELECT random() + g * 0 AS r) x) AS st, \
                      timestamptz '2026-11-01 00:00:00+00' - random() * interval '365 days' AS t, \
                      (50 + random() * random() * 600000)::bigint AS dur \
               FROM generate_series(1, $1::bigint) g) s \
         JOIN bench_users u ON u.idx = s.uidx",
    )
    .bind(rows as i64)
    .execute(&mut *conn)
    .await?;
    for (_, def) in &indexes {
        sqlx::query(def).execute(&mut *conn).await?;
    }
    sqlx::query("ANALYZE executions")
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO bench_seed (rows, version) VALUES ($1, $2)")
        .bind(rows as i64)
        .bind(SEED_VERSION)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
