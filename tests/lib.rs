//! Shared set-up of the integration tests: a database and a Redis key prefix of the test's
//! own, on the real servers, removed again at the end.
//!
//! Servers: `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and
//! `REDIS_URL` (default `redis://127.0.0.1:6379`). A missing server fails the test with a
//! message naming it; nothing is skipped.

use std::sync::Arc;

use bifrost_host::logs::RedisLogStream;
use bifrost_host::store::PostgresStore;
use bifrost_host::{ExecutionsService, Identity};
use sqlx::Connection;
use uuid::Uuid;

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// The PostgreSQL server the tests use.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The Redis server the tests use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One test's backends: its own database and its own Redis key prefix.
pub struct TestEnv {
    /// Name of the test's database.
    pub database: String,
    /// URL of the test's database.
    pub database_url: String,
    /// The test's Redis key prefix.
    pub prefix: String,
    /// The store on the test's database.
    pub store: PostgresStore,
    /// The log stream under the test's prefix.
    pub logs: RedisLogStream,
    /// Both, as the host uses them.
    pub service: ExecutionsService,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("DATABASE_URL has a database name");
    format!("{base}/{name}")
}

impl TestEnv {
    /// Creates a fresh database (migrated) and a fresh key prefix.
    pub async fn new() -> TestEnv {
        let admin_url = database_url();
        let database = format!("bifrost_test_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required at DATABASE_URL={admin_url}: {e}")
        });
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        admin.close().await.ok();
        let database_url = with_database(&admin_url, &database);
        let store = PostgresStore::connect(&database_url)
            .await
            .expect("connect to the test database and migrate");
        let prefix = format!("bifrost-test:{}:logs:", Uuid::new_v4().simple());
        let url = redis_url();
        let logs = RedisLogStream::connect_with_prefix(&url, &prefix)
            .await
            .unwrap_or_else(|e| panic!("Redis is required at REDIS_URL={url}: {e}"));
        let service = ExecutionsService::new(Arc::new(store.clone()), Arc::new(logs.clone()));
        TestEnv {
            database,
            database_url,
            prefix,
            store,
            logs,
            service,
        }
    }

    /// Drops the database and every key under the prefix.
    pub async fn close(self) {
        self.store.pool().close().await;
        let mut admin = sqlx::PgConnection::connect(&database_url())
            .await
            .expect("connect to drop the test database");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database))
            .execute(&mut admin)
            .await
            .expect("drop the test database");
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
        }
    }
}

/// A regular user of `org`.
pub fn user(org: Option<Uuid>) -> Identity {
    let id = Uuid::new_v4();
    Identity {
        user_id: id,
        user_name: format!("user-{}", &id.simple().to_string()[..6]),
        organization_id: org,
        is_platform_admin: false,
    }
}

/// A platform admin of `org` (all organisations when `None`).
pub fn admin(org: Option<Uuid>) -> Identity {
    Identity {
        is_platform_admin: true,
        ..user(org)
    }
}
