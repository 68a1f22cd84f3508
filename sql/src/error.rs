//! What a database error means for a caller of the store.

use bifrost_core::error::StoreError;

/// Maps a sqlx error to the store's: a missing row is `NotFound`; a database that cannot
/// be reached, or is restarting, is `Unavailable` (retry later); anything else is the
/// database's own error.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Migrate(m) => StoreError::Migration(m.to_string()),
        // The server is shutting down, restarting, or dropped the connection (SQLSTATE
        // classes 57P and 08), or the statement ran past `statement_timeout` (57014): the
        // next attempt may well succeed.
        sqlx::Error::Database(ref d)
            if d.code()
                .is_some_and(|c| c.starts_with("57P") || c.starts_with("08") || c == "57014") =>
        {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        other => StoreError::Database(other.to_string()),
    }
}
