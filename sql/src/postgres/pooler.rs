//! Statements through a connection pooler in transaction mode (PgBouncer's
//! `pool_mode = transaction`), where each transaction may run on another server connection.
//!
//! sqlx sends a statement with parameters in two exchanges: `Parse`/`Describe`/`Sync`, then
//! `Bind`/`Execute`/`Sync`. Outside a transaction, the pooler may hand the second to another
//! server connection, which does not have the statement (or has another one under the same
//! name); and a statement sqlx keeps prepared by name lives on one server connection that
//! the next transaction may not get. So, with a pooler ([`Db`] and [`On`] when `prepared` is
//! false), every statement is unnamed (nothing prepared outlives it) and runs inside a
//! transaction (`BEGIN` ... `COMMIT`, which keeps one server connection for both
//! exchanges): four round trips for a statement instead of one. Without a pooler they
//! change nothing.

use futures_util::{StreamExt, TryStreamExt};
use sqlx::postgres::{PgArguments, PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, PgConnection, PgPool, Postgres};

type BoxStream<'a, T> = futures_util::stream::BoxStream<'a, T>;
type BoxFuture<'a, T> = futures_util::future::BoxFuture<'a, T>;
type BoxDynError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A statement sent unnamed: prepared for this execution only.
struct Unprepared<E>(E);

impl<'q, E: Execute<'q, Postgres>> Execute<'q, Postgres> for Unprepared<E> {
    fn sql(&self) -> &'q str {
        self.0.sql()
    }

    fn statement(&self) -> Option<&PgStatement<'q>> {
        self.0.statement()
    }

    fn take_arguments(&mut self) -> Result<Option<PgArguments>, BoxDynError> {
        self.0.take_arguments()
    }

    fn persistent(&self) -> bool {
        false
    }
}

/// The store's pool as an executor: each statement on a pooled connection; with a pooler
/// (`pooled`), unnamed and in a transaction of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Db<'a> {
    pub(crate) pool: &'a PgPool,
    pub(crate) pooled: bool,
}

impl<'a> Executor<'a> for Db<'a> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'a: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if !self.pooled {
            return self.pool.fetch_many(query);
        }
        let pool = self.pool.clone();
        futures_util::stream::once(async move {
            let mut tx = pool.begin().await?;
            let items: Vec<_> = (&mut *tx)
                .fetch_many(Unprepared(query))
                .try_collect()
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(futures_util::stream::iter(items.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'a: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if !self.pooled {
            return self.pool.fetch_optional(query);
        }
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut tx = pool.begin().await?;
            let row = (&mut *tx).fetch_optional(Unprepared(query)).await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'a: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'a: 'e,
    {
        self.pool.describe(sql)
    }
}

/// A connection already in a transaction as an executor: with a pooler (`!prepared`), each
/// statement unnamed.
#[derive(Debug)]
pub(crate) struct On<'a> {
    pub(crate) conn: &'a mut PgConnection,
    pub(crate) prepared: bool,
}

impl<'a> Executor<'a> for On<'a> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'a: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if self.prepared {
            self.conn.fetch_many(query)
        } else {
            self.conn.fetch_many(Unprepared(query))
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'a: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if self.prepared {
            self.conn.fetch_optional(query)
        } else {
            self.conn.fetch_optional(Unprepared(query))
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'a: 'e,
    {
        self.conn.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'a: 'e,
    {
        self.conn.describe(sql)
    }
}
