//! The `list` query, written once for both dialects: who may see what (the scope), the
//! filters, the keyset cursor, the order and the page size. A dialect says only how its
//! values are bound (PostgreSQL binds `uuid` and `timestamptz`; SQLite keeps ids as text
//! and times as integer microseconds) and spells what differs.

use bifrost_core::identity::Scope;
use bifrost_core::query::ListQuery;
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

/// How one SQL dialect binds the values of the `list` query, and how it stores the values
/// a row reads back as ([`crate::rows`]).
pub(crate) trait Dialect {
    /// The sqlx database.
    type Db: sqlx::Database;
    /// An id as a column holds it (`uuid`; text).
    type Id: for<'r> sqlx::Decode<'r, Self::Db> + sqlx::Type<Self::Db> + Send + Unpin;
    /// A time as a column holds it (`timestamptz`; integer microseconds).
    type Time: for<'r> sqlx::Decode<'r, Self::Db> + sqlx::Type<Self::Db> + Send + Unpin;
    /// A JSON value as a column holds it (`jsonb`; text).
    type Json: for<'r> sqlx::Decode<'r, Self::Db> + sqlx::Type<Self::Db> + Send + Unpin;

    /// The id a column held.
    fn id(stored: Self::Id) -> Result<Uuid, bifrost_core::error::StoreError>;
    /// The time a column held.
    fn time(stored: Self::Time) -> Result<DateTime<Utc>, bifrost_core::error::StoreError>;
    /// The JSON value a column held.
    fn json(stored: Self::Json) -> Result<serde_json::Value, bifrost_core::error::StoreError>;
    /// A condition that is always true.
    const TRUE: &'static str;
    /// What follows a bound status name, to compare it with the `status` column.
    const STATUS_CAST: &'static str;

    /// Binds an id (an execution, a user, an organisation).
    fn bind_id(qb: &mut QueryBuilder<'_, Self::Db>, id: Uuid);
    /// Binds a time with microsecond precision.
    fn bind_time(qb: &mut QueryBuilder<'_, Self::Db>, at: DateTime<Utc>);
    /// Binds a text value.
    fn bind_text(qb: &mut QueryBuilder<'_, Self::Db>, text: String);
    /// Binds an integer.
    fn bind_int(qb: &mut QueryBuilder<'_, Self::Db>, n: i64);
    /// Binds an id or NULL.
    fn bind_opt_id(qb: &mut QueryBuilder<'_, Self::Db>, id: Option<Uuid>);
    /// Binds a time or NULL.
    fn bind_opt_time(qb: &mut QueryBuilder<'_, Self::Db>, at: Option<DateTime<Utc>>);
    /// Binds a boolean.
    fn bind_bool(qb: &mut QueryBuilder<'_, Self::Db>, b: bool);
    /// Binds a JSON value.
    fn bind_json(qb: &mut QueryBuilder<'_, Self::Db>, v: &serde_json::Value);
}

/// `{prefix}SELECT {columns} FROM executions WHERE ...`: the rows of `scope` that `query`
/// admits, newest first (ties by id, descending), after the cursor, one page. The SQL's
/// only inputs are bound parameters.
pub(crate) fn list_query<'a, D: Dialect>(
    prefix: &str,
    columns: &str,
    scope: &Scope,
    query: &ListQuery,
) -> QueryBuilder<'a, D::Db> {
    let mut qb =
        QueryBuilder::<D::Db>::new(format!("{prefix}SELECT {columns} FROM executions WHERE "));
    push_scope::<D>(&mut qb, scope);
    if let Some(name) = &query.workflow_name {
        qb.push(" AND workflow_name = ");
        D::bind_text(&mut qb, name.clone());
    }
    if let Some(status) = query.status {
        qb.push(" AND status = ");
        D::bind_text(&mut qb, status.as_str().to_owned());
        qb.push(D::STATUS_CAST);
    }
    if let Some(from) = query.started_from {
        qb.push(" AND started_at >= ");
        D::bind_time(&mut qb, from);
    }
    if let Some(until) = query.started_until {
        qb.push(" AND started_at <= ");
        D::bind_time(&mut qb, until);
    }
    if let Some(after) = &query.after {
        qb.push(" AND (started_at, id) < (");
        D::bind_time(&mut qb, after.started_at());
        qb.push(", ");
        D::bind_id(&mut qb, after.id);
        qb.push(")");
    }
    qb.push(" ORDER BY started_at DESC, id DESC LIMIT ");
    D::bind_int(&mut qb, i64::from(query.limit));
    qb
}

/// Appends the scope's condition.
fn push_scope<D: Dialect>(qb: &mut QueryBuilder<'_, D::Db>, scope: &Scope) {
    match *scope {
        Scope::All => {
            qb.push(D::TRUE);
        }
        Scope::Organization(org) => {
            qb.push("organization_id = ");
            D::bind_id(qb, org);
        }
        Scope::OwnExecutions {
            user_id,
            organization_id,
        } => {
            qb.push("executed_by = ");
            D::bind_id(qb, user_id);
            match organization_id {
                Some(org) => {
                    qb.push(" AND organization_id = ");
                    D::bind_id(qb, org);
                }
                None => {
                    qb.push(" AND organization_id IS NULL");
                }
            }
        }
    }
}
