//! Where the benchmarks run: their own databases on the PostgreSQL server of
//! `DATABASE_URL`, their own key prefix on the Redis server of `REDIS_URL`, and runners
//! configured for measuring.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context as _;
use bifrost_core::ExecutionsService;
use bifrost_core::logs::{LogStream, MemoryLogStream};
use bifrost_redis::RedisLogStream;
use bifrost_runner::{LoadedWorkflow, Runner, RunnerConfig};
use bifrost_sql::{PostgresStore, SqliteStore};
use sqlx::ConnectOptions as _;
use sqlx::postgres::PgConnectOptions;

/// The database that holds the seeded million executions (read only once seeded).
pub const SCALE_DB: &str = "bifrost_bench";
/// The database that end-to-end runs write to; made anew on every run.
pub const RUNS_DB: &str = "bifrost_bench_runs";
/// Key prefix of the benchmarks' log streams.
pub const KEY_PREFIX: &str = "bifrost-bench:logs:";

/// The servers, from `DATABASE_URL` and `REDIS_URL` (defaults: the local ones).
#[derive(Debug, Clone)]
pub struct Servers {
    /// A URL of the PostgreSQL server, any database on it.
    pub database_url: String,
    /// The Redis server's URL.
    pub redis_url: String,
}

impl Servers {
    /// From the environment.
    pub fn from_env() -> Self {
        Self {
            database_url: std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
            redis_url: std::env::var("REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        }
    }

    /// The URL of database `name` on the same server.
    pub fn url_of(&self, name: &str) -> String {
        with_database(&self.database_url, name)
    }

    /// Makes sure database `name` exists; with `fresh`, drops it first. Returns its URL.
    pub async fn database(&self, name: &str, fresh: bool) -> anyhow::Result<String> {
        let mut admin = PgConnectOptions::from_str(&self.database_url)?
            .connect()
            .await
            .with_context(|| "connect to PostgreSQL (DATABASE_URL)")?;
        if fresh {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut admin)
            .await?;
        if exists.is_none() {
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await?;
        }
        Ok(self.url_of(name))
    }

    /// The Redis log stream under the benchmarks' prefix.
    pub async fn redis(&self) -> anyhow::Result<Arc<RedisLogStream>> {
        Ok(Arc::new(
            RedisLogStream::connect_with_prefix(&self.redis_url, KEY_PREFIX)
                .await
                .with_context(|| "connect to Redis (REDIS_URL)")?,
        ))
    }

    /// A plain Redis connection, for the native baselines.
    pub async fn redis_connection(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        Ok(redis::Client::open(self.redis_url.as_str())?
            .get_multiplexed_async_connection()
            .await?)
    }

    /// The service on database `url` (migrated) and the benchmarks' Redis prefix, and the
    /// PostgreSQL store itself (for plans).
    pub async fn service(
        &self,
        url: &str,
    ) -> anyhow::Result<(ExecutionsService, Arc<PostgresStore>)> {
        let store = Arc::new(PostgresStore::connect(url).await?);
        let logs: Arc<dyn LogStream> = self.redis().await?;
        Ok((ExecutionsService::new(store.clone(), logs), store))
    }
}

/// The embedded default: SQLite in `dir`, live lines in the same file.
pub async fn embedded_service(dir: &std::path::Path) -> anyhow::Result<ExecutionsService> {
    let store = SqliteStore::open_file(&dir.join("bifrost.db")).await?;
    let logs = Arc::new(store.log_stream());
    Ok(ExecutionsService::new(Arc::new(store), logs))
}

/// A scratch service for benchmarks that make no query: SQLite in memory and the
/// in-process log stream.
pub async fn scratch_service() -> anyhow::Result<ExecutionsService> {
    let store = SqliteStore::connect("sqlite::memory:").await?;
    Ok(ExecutionsService::new(
        Arc::new(store),
        Arc::new(MemoryLogStream::new()),
    ))
}

/// `url` with its database replaced by `name` (query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A runner for measuring: the given allocator, and no query rate limit (the benchmarks
/// time the calls, not the throttle that keeps one workflow from starving the others).
pub fn runner(service: ExecutionsService, pooling: bool) -> anyhow::Result<Runner> {
    let mut config = RunnerConfig {
        pooling,
        ..RunnerConfig::default()
    };
    config.limits.max_queries_per_second = u32::MAX;
    Runner::new(service, config).map_err(|e| anyhow::anyhow!("{e:#}"))
}

/// Loads a component into a runner.
pub fn load(runner: &Runner, path: &str) -> anyhow::Result<LoadedWorkflow> {
    runner
        .load_file(std::path::Path::new(path))
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Records a new execution `id` of `workflow`, running (as the operator, for an hour), as
/// a runner would before its instance starts.
pub async fn create_running(
    recorder: &dyn bifrost_core::store::RunRecorder,
    id: uuid::Uuid,
    workflow: &str,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    recorder
        .create_running(
            &bifrost_core::model::NewExecution {
                id,
                workflow_name: workflow.into(),
                parameters: serde_json::json!({}),
                executed_by: uuid::Uuid::nil(),
                executed_by_name: "operator".into(),
                organization_id: None,
                form_id: None,
                parent_execution_id: None,
                session_id: None,
                created_at: now,
            },
            &bifrost_core::store::RunStart {
                started_at: now,
                deadline_at: now + chrono::TimeDelta::hours(1),
                lease_until: now + chrono::TimeDelta::hours(1),
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "b"),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "b"), "postgres://h:1/b");
    }
}
