//! Choosing and connecting the backends from configuration.
//!
//! | `DATABASE_URL` | store |
//! |---|---|
//! | unset | SQLite file `bifrost.db` in the data directory (created on first use) |
//! | `sqlite:...` | SQLite at that URL (e.g. `sqlite:///var/lib/bifrost/bifrost.db`, `sqlite::memory:`) |
//! | `postgres://...`, `postgresql://...` | PostgreSQL |
//!
//! | `REDIS_URL` | log stream |
//! |---|---|
//! | unset, store on SQLite | table `live_logs` of the SQLite file ([`SqliteLogStream`](bifrost_sql::SqliteLogStream)): every process that opens the file sees the lines of a running execution |
//! | unset, store on PostgreSQL | in this process ([`MemoryLogStream`]): other processes see the lines once the run has ended |
//! | `redis://...`, `rediss://...`, `unix://...` | Redis Streams |
//!
//! The data directory is `BIFROST_DATA_DIR` if set, else `$XDG_DATA_HOME/bifrost`, else
//! `$HOME/.local/share/bifrost`.

use std::path::PathBuf;
use std::sync::Arc;

use bifrost_core::ExecutionsService;
use bifrost_core::access::AccessStore;
use bifrost_core::logs::{LogStream, MemoryLogStream};
use bifrost_core::queue::QueueStore;
use bifrost_core::store::ExecutionStore;
use bifrost_core::workflows::WorkflowStore;
use bifrost_redis::{DEFAULT_KEY_PREFIX, RedisLogStream};
use bifrost_sql::{Pooler, PostgresOptions, PostgresStore, SqliteStore};

/// Where the backends are, as configured (usually from the environment).
#[derive(Debug, Clone, Default)]
pub struct BackendConfig {
    /// `DATABASE_URL`.
    pub database_url: Option<String>,
    /// `REDIS_URL`.
    pub redis_url: Option<String>,
    /// Key prefix of Redis log streams; `None`: [`DEFAULT_KEY_PREFIX`].
    pub log_prefix: Option<String>,
    /// Directory of the default SQLite file; `None`: [`default_data_dir`].
    pub data_dir: Option<PathBuf>,
    /// Connections to a PostgreSQL store, both of its pools together; `None`:
    /// [`bifrost_sql::DEFAULT_CONNECTIONS`] (16). `serve` takes one more to wait for
    /// submissions (`LISTEN`). Unused with SQLite.
    pub db_connections: Option<u32>,
    /// What stands between this process and PostgreSQL (`BIFROST_DB_POOLER`: `none`, the
    /// default, or `transaction` for PgBouncer in transaction mode).
    pub db_pooler: Pooler,
    /// Through a pooler: a URL of the PostgreSQL server itself (`BIFROST_DB_DIRECT_URL`), for
    /// the migrations and `serve`'s `LISTEN`; without it, `serve` polls for submissions
    /// and the migrations must have been applied already.
    pub db_direct_url: Option<String>,
}

/// The connected backends.
#[derive(Clone)]
pub struct Backends {
    /// Executions and their logs.
    pub service: ExecutionsService,
    /// Deployed workflows, in the same store as the executions.
    pub workflows: Arc<dyn WorkflowStore>,
    /// The queue of submitted executions, in the same store.
    pub queue: Arc<dyn QueueStore>,
    /// API tokens, idempotency keys and the audit record, in the same store.
    pub access: Arc<dyn AccessStore>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends").finish_non_exhaustive()
    }
}

/// A configuration variable that is malformed or names a backend that cannot be reached.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct BackendError {
    /// The variable at fault, e.g. `DATABASE_URL`.
    pub variable: &'static str,
    /// Why, in one line.
    pub reason: String,
    /// Whether the variable is at fault or the backend it names.
    pub kind: BackendErrorKind,
}

/// What is wrong with a backend variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// The variable is of the wrong form, or no data directory is known: the operator's
    /// mistake.
    Malformed,
    /// The backend it names could not be reached, refused the connection, or failed while
    /// the store applied its migrations.
    Unreachable,
}

impl BackendError {
    fn new(variable: &'static str, reason: impl std::fmt::Display) -> Self {
        Self {
            variable,
            reason: reason.to_string().replace('\n', " "),
            kind: BackendErrorKind::Malformed,
        }
    }

    fn unreachable(variable: &'static str, reason: impl std::fmt::Display) -> Self {
        Self {
            kind: BackendErrorKind::Unreachable,
            ..Self::new(variable, reason)
        }
    }
}

/// Which store a `DATABASE_URL` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// PostgreSQL at this URL.
    Postgres(String),
    /// SQLite at this `sqlite:` URL.
    SqliteUrl(String),
    /// SQLite in this file (the default).
    SqliteFile(PathBuf),
}

/// Which log stream a `REDIS_URL` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStreamKind {
    /// Redis at this URL.
    Redis(String),
    /// On this machine: in the SQLite file when the store is SQLite, else in this process.
    Local,
}

/// The default data directory (see the module docs); `None` when no home is known.
pub fn default_data_dir() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("BIFROST_DATA_DIR")
        .or_else(|| var("XDG_DATA_HOME").map(|d| d.join("bifrost")))
        .or_else(|| var("HOME").map(|h| h.join(".local/share/bifrost")))
}

impl BackendConfig {
    /// `DATABASE_URL`, `REDIS_URL`, `BIFROST_LOG_PREFIX`, `BIFROST_DATA_DIR` and
    /// `BIFROST_DB_CONNECTIONS` from the environment; empty values count as unset, and so
    /// does a number of connections that is not one.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            database_url: var("DATABASE_URL"),
            redis_url: var("REDIS_URL"),
            log_prefix: var("BIFROST_LOG_PREFIX"),
            data_dir: var("BIFROST_DATA_DIR").map(PathBuf::from),
            db_connections: var("BIFROST_DB_CONNECTIONS").and_then(|n| n.parse().ok()),
            db_pooler: var("BIFROST_DB_POOLER")
                .and_then(|p| p.parse().ok())
                .unwrap_or_default(),
            db_direct_url: var("BIFROST_DB_DIRECT_URL"),
        }
    }

    /// The store the configuration selects, checked for form but not connected.
    pub fn store_kind(&self) -> Result<StoreKind, BackendError> {
        let kind = self.store_kind_of_url()?;
        let postgres = matches!(kind, StoreKind::Postgres(_));
        if self.db_pooler == Pooler::Transaction && !postgres {
            return Err(BackendError::new(
                "BIFROST_DB_POOLER",
                "a pooler stands in front of PostgreSQL only, and DATABASE_URL is no postgres:// URL",
            ));
        }
        if let Some(direct) = &self.db_direct_url {
            if self.db_pooler != Pooler::Transaction {
                return Err(BackendError::new(
                    "BIFROST_DB_DIRECT_URL",
                    "used only through a pooler: set BIFROST_DB_POOLER=transaction, or leave it unset",
                ));
            }
            PostgresStore::check_url(direct)
                .map_err(|e| BackendError::new("BIFROST_DB_DIRECT_URL", e))?;
        }
        Ok(kind)
    }

    fn store_kind_of_url(&self) -> Result<StoreKind, BackendError> {
        match self.database_url.as_deref() {
            None => {
                let dir = self
                    .data_dir
                    .clone()
                    .or_else(default_data_dir)
                    .ok_or_else(|| {
                        BackendError::new(
                            "DATABASE_URL",
                            "unset and no data directory is known (set BIFROST_DATA_DIR or HOME)",
                        )
                    })?;
                Ok(StoreKind::SqliteFile(dir.join("bifrost.db")))
            }
            Some(url) if url.starts_with("sqlite:") => {
                SqliteStore::check_url(url).map_err(|e| BackendError::new("DATABASE_URL", e))?;
                Ok(StoreKind::SqliteUrl(url.to_owned()))
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                PostgresStore::check_url(url).map_err(|e| BackendError::new("DATABASE_URL", e))?;
                Ok(StoreKind::Postgres(url.to_owned()))
            }
            Some(_) => Err(BackendError::new(
                "DATABASE_URL",
                "not a postgres://, postgresql:// or sqlite: URL",
            )),
        }
    }

    /// The log stream the configuration selects, checked for form but not connected.
    pub fn log_stream_kind(&self) -> Result<LogStreamKind, BackendError> {
        match self.redis_url.as_deref() {
            None => Ok(LogStreamKind::Local),
            Some(url)
                if [
                    "redis://",
                    "rediss://",
                    "unix://",
                    "redis+unix://",
                    bifrost_redis::CLUSTER_SCHEME,
                ]
                .iter()
                .any(|s| url.starts_with(s)) =>
            {
                RedisLogStream::check_url(url).map_err(|e| BackendError::new("REDIS_URL", e))?;
                Ok(LogStreamKind::Redis(url.to_owned()))
            }
            Some(_) => Err(BackendError::new(
                "REDIS_URL",
                "not a redis://, rediss://, unix:// or redis+cluster:// URL",
            )),
        }
    }

    /// Checks both variables, then connects: the log stream first (which writes nothing),
    /// then the store (which applies its migrations), so that a bad `REDIS_URL` leaves the
    /// database untouched.
    pub async fn connect(&self) -> Result<ExecutionsService, BackendError> {
        Ok(self.connect_all().await?.service)
    }

    /// Like [`connect`](Self::connect), with the deployed workflows and the queue of the
    /// same store.
    pub async fn connect_all(&self) -> Result<Backends, BackendError> {
        let store_kind = self.store_kind()?;
        let redis: Option<Arc<dyn LogStream>> = match self.log_stream_kind()? {
            LogStreamKind::Local => None,
            LogStreamKind::Redis(url) => {
                let prefix = self.log_prefix.as_deref().unwrap_or(DEFAULT_KEY_PREFIX);
                Some(Arc::new(
                    RedisLogStream::connect_with_prefix(&url, prefix)
                        .await
                        .map_err(|e| BackendError::unreachable("REDIS_URL", e))?,
                ))
            }
        };
        type Stores = (
            Arc<dyn ExecutionStore>,
            Arc<dyn WorkflowStore>,
            Arc<dyn QueueStore>,
            Arc<dyn AccessStore>,
            Arc<dyn LogStream>,
        );
        fn all<S: ExecutionStore + WorkflowStore + QueueStore + AccessStore>(
            store: S,
            local: Arc<dyn LogStream>,
        ) -> Stores {
            let store = Arc::new(store);
            (store.clone(), store.clone(), store.clone(), store, local)
        }
        let sqlite = |store: SqliteStore| {
            let local: Arc<dyn LogStream> = Arc::new(store.log_stream());
            all(store, local)
        };
        let (store, workflows, queue, access, local) = match store_kind {
            StoreKind::Postgres(url) => all(
                PostgresStore::connect_with_options(
                    &url,
                    &PostgresOptions {
                        connections: self
                            .db_connections
                            .unwrap_or(bifrost_sql::DEFAULT_CONNECTIONS),
                        pooler: self.db_pooler,
                        direct_url: self.db_direct_url.clone(),
                    },
                )
                .await
                .map_err(|e| BackendError::unreachable("DATABASE_URL", e))?,
                Arc::new(MemoryLogStream::new()),
            ),
            StoreKind::SqliteUrl(url) => sqlite(
                SqliteStore::connect(&url)
                    .await
                    .map_err(|e| BackendError::unreachable("DATABASE_URL", e))?,
            ),
            StoreKind::SqliteFile(path) => {
                sqlite(SqliteStore::open_file(&path).await.map_err(|e| {
                    BackendError::unreachable("DATABASE_URL", format!("{} ({e})", path.display()))
                })?)
            }
        };
        let logs = redis.unwrap_or(local);
        Ok(Backends {
            service: ExecutionsService::new(store, logs),
            workflows,
            queue,
            access,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(db: Option<&str>, redis: Option<&str>) -> BackendConfig {
        BackendConfig {
            database_url: db.map(Into::into),
            redis_url: redis.map(Into::into),
            log_prefix: None,
            data_dir: Some(PathBuf::from("/data")),
            db_connections: None,
            db_pooler: Pooler::None,
            db_direct_url: None,
        }
    }

    #[test]
    fn a_pooler_and_its_direct_url_go_together_with_postgres() {
        let pooled = |db: &str, pooler, direct: Option<&str>| BackendConfig {
            db_pooler: pooler,
            db_direct_url: direct.map(Into::into),
            ..cfg(Some(db), None)
        };
        let pg = "postgres://u@pgbouncer:6432/db";
        let variable = |c: BackendConfig| c.store_kind().unwrap_err().variable;
        assert!(pooled(pg, Pooler::Transaction, None).store_kind().is_ok());
        assert!(
            pooled(pg, Pooler::Transaction, Some("postgres://u@db:5432/db"))
                .store_kind()
                .is_ok()
        );
        assert_eq!(
            variable(pooled("sqlite:x.db", Pooler::Transaction, None)),
            "BIFROST_DB_POOLER"
        );
        assert_eq!(
            variable(pooled(pg, Pooler::None, Some("postgres://u@db/db"))),
            "BIFROST_DB_DIRECT_URL"
        );
        assert_eq!(
            variable(pooled(pg, Pooler::Transaction, Some("notaurl"))),
            "BIFROST_DB_DIRECT_URL"
        );
    }

    #[test]
    fn urls_select_backends() {
        assert_eq!(
            cfg(None, None).store_kind().unwrap(),
            StoreKind::SqliteFile("/data/bifrost.db".into())
        );
        assert_eq!(
            cfg(Some("sqlite:x.db"), None).store_kind().unwrap(),
            StoreKind::SqliteUrl("sqlite:x.db".into())
        );
        assert!(matches!(
            cfg(Some("postgresql://h/db"), None).store_kind().unwrap(),
            StoreKind::Postgres(_)
        ));
        assert_eq!(
            cfg(None, None).log_stream_kind().unwrap(),
            LogStreamKind::Local
        );
        assert!(matches!(
            cfg(None, Some("redis://h:1")).log_stream_kind().unwrap(),
            LogStreamKind::Redis(_)
        ));
    }

    #[test]
    fn malformed_urls_name_the_variable_without_echoing_it() {
        let e = cfg(Some("mysql://user:secret@h/db"), None)
            .store_kind()
            .unwrap_err();
        assert_eq!(e.variable, "DATABASE_URL");
        assert!(!e.to_string().contains("secret"));
        let e = cfg(None, Some("http://h")).log_stream_kind().unwrap_err();
        assert_eq!(e.variable, "REDIS_URL");
        assert!(e.to_string().starts_with("REDIS_URL: "));
    }
}
