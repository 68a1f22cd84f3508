//! The execution stores on SQL databases, through sqlx: [`PostgresStore`] for runners that
//! share one database, [`SqliteStore`] for the embedded default on one machine. Each applies
//! its own migrations (`migrations/postgres`, `migrations/sqlite`) when it connects; the
//! tables and columns are Bifrost's own, so that one database can serve both.
//!
//! SQL lives only here. Both implement the store's roles, and so
//! [`ExecutionStore`](bifrost_core::store::ExecutionStore); nothing above those traits knows
//! which runs. The features `postgres` and `sqlite`
//! (both on by default) choose which are built.
//!
//! The `list` query (scope, filters, cursor, order, page) is written once, over a small
//! dialect trait that binds values and says how ids, times and JSON are stored; so are the
//! rows both dialects read alike (a claimed execution, a deployment). The execution rows
//! and the writes stay per dialect: the two
//! keep different column types (`uuid` and `timestamptz` against text and integer
//! microseconds) and different statements (PostgreSQL `UNNEST` arrays, SQLite multi-row
//! inserts in one transaction), and sharing them would hide that behind conversions.
//!
//! ```no_run
//! use bifrost_core::store::LeaseKeeper;
//! use bifrost_sql::PostgresStore;
//!
//! # async fn f() -> Result<(), bifrost_core::error::StoreError> {
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/test").await?;
//! let running = store.abandoned(chrono::Utc::now()).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod access;
mod error;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod list;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod migrations;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod rows;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_CONNECTIONS, MIN_CONNECTIONS, Pooler, PostgresOptions, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteLogStream, SqliteStore};

/// The status names a purge deletes: `statuses` that are final, or every final status when
/// `statuses` is empty. A status that has not ended is never among them.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
fn purge_statuses(statuses: &[bifrost_core::model::ExecutionStatus]) -> Vec<String> {
    let all = bifrost_core::queue::final_statuses();
    let chosen = if statuses.is_empty() {
        &all[..]
    } else {
        statuses
    };
    chosen
        .iter()
        .filter(|s| s.is_final())
        .map(|s| s.as_str().to_owned())
        .collect()
}
