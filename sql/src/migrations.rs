//! The migrations of each dialect, embedded in the library by `build.rs`, read as sqlx reads a
//! migrations directory: `<version>_<description>.sql`, the description with `_` as spaces, a
//! file that starts with `-- no-transaction` run outside a transaction. The checksums are
//! sqlx's (SHA-384 of the file), the same as `sqlx::migrate!` embedded before, so databases
//! migrated by earlier releases stay valid (`tests/all` migrates a file made by sqlx's own
//! directory reader).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// The migrations of one dialect: `(version, "<description>.sql", SQL)`, oldest first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(&'static [(i64, &'static str, &'static str)]);

#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: Embedded = Embedded(include!(concat!(
    env!("OUT_DIR"),
    "/migrations_postgres.rs"
)));

#[cfg(feature = "sqlite")]
pub(crate) const SQLITE: Embedded =
    Embedded(include!(concat!(env!("OUT_DIR"), "/migrations_sqlite.rs")));

impl Embedded {
    /// A migrator over these migrations, with sqlx's defaults (locking, a migration applied
    /// but missing here an error).
    pub(crate) async fn migrator(self) -> Result<Migrator, sqlx::migrate::MigrateError> {
        Migrator::new(self).await
    }

    /// The migrations as sqlx's directory reader makes them.
    fn migrations(self) -> Vec<Migration> {
        self.0
            .iter()
            .map(|&(version, name, sql)| {
                let kind = MigrationType::from_filename(name);
                Migration::new(
                    version,
                    Cow::Owned(name.trim_end_matches(kind.suffix()).replace('_', " ")),
                    kind,
                    Cow::Borrowed(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect()
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { Ok(self.migrations()) })
    }
}
