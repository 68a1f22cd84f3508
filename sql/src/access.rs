//! API tokens, idempotency keys and the audit record ([`AccessStore`]), written once for
//! both dialects: the statements are built over [`Dialect`] (which binds ids, times and
//! JSON as each database keeps them) and the trait's implementation is the same text for
//! both stores ([`access_store!`]).

use bifrost_core::access::{AuditEntry, Scopes, Token};
use bifrost_core::error::StoreError;
use bifrost_core::{Identity, Scope};
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, FromRow, QueryBuilder, Row, Type};
use uuid::Uuid;

use crate::list::Dialect;

/// The columns of a token, as [`TokenRow`] reads them.
pub(crate) const TOKEN_COLUMNS: &str = "id, name, prefix, user_id, user_name, organization_id, \
    is_platform_admin, scopes, created_at, created_by, expires_at, last_used_at, revoked_at";

/// The columns of an audit entry, as [`AuditRow`] reads them.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, user_id, user_name, organization_id, token_id, action, target, detail";

/// `INSERT INTO api_tokens ...` for `t` with the hash of its secret.
pub(crate) fn insert_token<'a, D: Dialect>(t: &Token, hash: &str) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(format!(
        "INSERT INTO api_tokens ({TOKEN_COLUMNS}, secret_hash) VALUES ("
    ));
    D::bind_id(&mut qb, t.id);
    qb.push(", ");
    D::bind_text(&mut qb, t.name.clone());
    qb.push(", ");
    D::bind_text(&mut qb, t.prefix.clone());
    qb.push(", ");
    D::bind_id(&mut qb, t.identity.user_id);
    qb.push(", ");
    D::bind_text(&mut qb, t.identity.user_name.clone());
    qb.push(", ");
    D::bind_opt_id(&mut qb, t.identity.organization_id);
    qb.push(", ");
    D::bind_bool(&mut qb, t.identity.is_platform_admin);
    qb.push(", ");
    D::bind_text(&mut qb, t.scopes.to_text());
    qb.push(", ");
    D::bind_time(&mut qb, t.created_at);
    qb.push(", ");
    D::bind_opt_id(&mut qb, t.created_by);
    qb.push(", ");
    D::bind_opt_time(&mut qb, t.expires_at);
    qb.push(", ");
    D::bind_opt_time(&mut qb, t.last_used_at);
    qb.push(", ");
    D::bind_opt_time(&mut qb, t.revoked_at);
    qb.push(", ");
    D::bind_text(&mut qb, hash.to_owned());
    qb.push(")");
    qb
}

/// `SELECT` of the token whose secret hashes to `hash`.
pub(crate) fn token_by_hash<'a, D: Dialect>(hash: &str) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = "
    ));
    D::bind_text(&mut qb, hash.to_owned());
    qb
}

/// `SELECT` of token `id`.
pub(crate) fn token_by_id<'a, D: Dialect>(id: Uuid) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = "
    ));
    D::bind_id(&mut qb, id);
    qb
}

/// `UPDATE` of a column of times (`last_used_at`, or `revoked_at` kept if set) of token `id`.
pub(crate) fn set_token_time<'a, D: Dialect>(
    id: Uuid,
    column: &str,
    keep_first: bool,
    at: DateTime<Utc>,
) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(format!("UPDATE api_tokens SET {column} = "));
    if keep_first {
        qb.push(format!("COALESCE({column}, "));
        D::bind_time(&mut qb, at);
        qb.push(")");
    } else {
        D::bind_time(&mut qb, at);
    }
    qb.push(" WHERE id = ");
    D::bind_id(&mut qb, id);
    qb
}

/// `DELETE` of the idempotency keys kept before `before`.
pub(crate) fn forget_keys<'a, D: Dialect>(before: DateTime<Utc>) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new("DELETE FROM idempotency_keys WHERE created_at < ");
    D::bind_time(&mut qb, before);
    qb
}

/// `DELETE` of the tokens that expired or were revoked before `before`.
pub(crate) fn forget_tokens<'a, D: Dialect>(before: DateTime<Utc>) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new("DELETE FROM api_tokens WHERE revoked_at < ");
    D::bind_time(&mut qb, before);
    qb.push(" OR expires_at < ");
    D::bind_time(&mut qb, before);
    qb
}

/// `INSERT` of an idempotency key unless the user already has it.
pub(crate) fn insert_key<'a, D: Dialect>(
    user_id: Uuid,
    key: &str,
    request_hash: &str,
    candidate: Uuid,
    at: DateTime<Utc>,
) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, execution_id, created_at) \
         VALUES (",
    );
    D::bind_id(&mut qb, user_id);
    qb.push(", ");
    D::bind_text(&mut qb, key.to_owned());
    qb.push(", ");
    D::bind_text(&mut qb, request_hash.to_owned());
    qb.push(", ");
    D::bind_id(&mut qb, candidate);
    qb.push(", ");
    D::bind_time(&mut qb, at);
    qb.push(") ON CONFLICT (user_id, key) DO NOTHING");
    qb
}

/// `SELECT request_hash, execution_id` of a user's idempotency key.
pub(crate) fn select_key<'a, D: Dialect>(user_id: Uuid, key: &str) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(
        "SELECT request_hash, execution_id FROM idempotency_keys WHERE user_id = ",
    );
    D::bind_id(&mut qb, user_id);
    qb.push(" AND key = ");
    D::bind_text(&mut qb, key.to_owned());
    qb
}

/// `INSERT` of an audit entry (its `seq` is the database's).
pub(crate) fn insert_audit<'a, D: Dialect>(e: &AuditEntry) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(
        "INSERT INTO audit_log (at, user_id, user_name, organization_id, token_id, action, \
         target, detail) VALUES (",
    );
    D::bind_time(&mut qb, e.at);
    qb.push(", ");
    D::bind_id(&mut qb, e.user_id);
    qb.push(", ");
    D::bind_text(&mut qb, e.user_name.clone());
    qb.push(", ");
    D::bind_opt_id(&mut qb, e.organization_id);
    qb.push(", ");
    D::bind_opt_id(&mut qb, e.token_id);
    qb.push(", ");
    D::bind_text(&mut qb, e.action.clone());
    qb.push(", ");
    D::bind_text(&mut qb, e.target.clone());
    qb.push(", ");
    D::bind_json(&mut qb, &e.detail);
    qb.push(")");
    qb
}

/// `SELECT` of up to `limit` audit entries of `scope` before `before`, newest first.
pub(crate) fn audit_page<'a, D: Dialect>(
    scope: &Scope,
    before: Option<i64>,
    limit: u32,
) -> QueryBuilder<'a, D::Db> {
    let mut qb = QueryBuilder::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE "));
    match scope {
        Scope::All => {
            qb.push(D::TRUE);
        }
        Scope::Organization(org) => {
            qb.push("organization_id = ");
            D::bind_id(&mut qb, *org);
        }
        // The record is for admins: a user's own scope reads none of it.
        Scope::OwnExecutions { .. } => {
            qb.push("1 = 0");
        }
    }
    if let Some(before) = before {
        qb.push(" AND seq < ");
        D::bind_int(&mut qb, before);
    }
    qb.push(" ORDER BY seq DESC LIMIT ");
    D::bind_int(&mut qb, i64::from(limit));
    qb
}

/// A token as the dialect `D` stores it.
pub(crate) struct TokenRow<D: Dialect> {
    id: D::Id,
    name: String,
    prefix: String,
    user_id: D::Id,
    user_name: String,
    organization_id: Option<D::Id>,
    is_platform_admin: bool,
    scopes: String,
    created_at: D::Time,
    created_by: Option<D::Id>,
    expires_at: Option<D::Time>,
    last_used_at: Option<D::Time>,
    revoked_at: Option<D::Time>,
}

impl<'r, D, R> FromRow<'r, R> for TokenRow<D>
where
    D: Dialect<Db = R::Database>,
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            prefix: row.try_get("prefix")?,
            user_id: row.try_get("user_id")?,
            user_name: row.try_get("user_name")?,
            organization_id: row.try_get("organization_id")?,
            is_platform_admin: row.try_get("is_platform_admin")?,
            scopes: row.try_get("scopes")?,
            created_at: row.try_get("created_at")?,
            created_by: row.try_get("created_by")?,
            expires_at: row.try_get("expires_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }
}

impl<D: Dialect> TryFrom<TokenRow<D>> for Token {
    type Error = StoreError;

    fn try_from(r: TokenRow<D>) -> Result<Self, StoreError> {
        let time = |t: Option<D::Time>| t.map(D::time).transpose();
        Ok(Token {
            id: D::id(r.id)?,
            name: r.name,
            prefix: r.prefix,
            identity: Identity {
                user_id: D::id(r.user_id)?,
                user_name: r.user_name,
                organization_id: r.organization_id.map(D::id).transpose()?,
                is_platform_admin: r.is_platform_admin,
            },
            scopes: Scopes::from_text(&r.scopes)?,
            created_at: D::time(r.created_at)?,
            created_by: r.created_by.map(D::id).transpose()?,
            expires_at: time(r.expires_at)?,
            last_used_at: time(r.last_used_at)?,
            revoked_at: time(r.revoked_at)?,
        })
    }
}

/// An idempotency key's request hash and execution as the dialect `D` stores them.
pub(crate) struct KeyRow<D: Dialect> {
    pub(crate) request_hash: String,
    pub(crate) execution_id: D::Id,
}

impl<'r, D, R> FromRow<'r, R> for KeyRow<D>
where
    D: Dialect<Db = R::Database>,
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Self {
            request_hash: row.try_get("request_hash")?,
            execution_id: row.try_get("execution_id")?,
        })
    }
}

/// An audit entry as the dialect `D` stores it.
pub(crate) struct AuditRow<D: Dialect> {
    seq: i64,
    at: D::Time,
    user_id: D::Id,
    user_name: String,
    organization_id: Option<D::Id>,
    token_id: Option<D::Id>,
    action: String,
    target: String,
    detail: D::Json,
}

impl<'r, D, R> FromRow<'r, R> for AuditRow<D>
where
    D: Dialect<Db = R::Database>,
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Self {
            seq: row.try_get("seq")?,
            at: row.try_get("at")?,
            user_id: row.try_get("user_id")?,
            user_name: row.try_get("user_name")?,
            organization_id: row.try_get("organization_id")?,
            token_id: row.try_get("token_id")?,
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            detail: row.try_get("detail")?,
        })
    }
}

impl<D: Dialect> TryFrom<AuditRow<D>> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow<D>) -> Result<Self, StoreError> {
        Ok(AuditEntry {
            seq: r.seq,
            at: D::time(r.at)?,
            user_id: D::id(r.user_id)?,
            user_name: r.user_name,
            organization_id: r.organization_id.map(D::id).transpose()?,
            token_id: r.token_id.map(D::id).transpose()?,
            action: r.action,
            target: r.target,
            detail: D::json(r.detail)?,
        })
    }
}

/// `impl AccessStore for $store` over its `pool` and the statements above in `$dialect`:
/// the same text for both stores.
macro_rules! access_store {
    ($store:ty, $dialect:ty) => {
        #[async_trait::async_trait]
        impl bifrost_core::access::AccessStore for $store {
            async fn create_token(
                &self,
                token: &bifrost_core::access::Token,
                secret_hash: &str,
            ) -> Result<(), bifrost_core::error::StoreError> {
                crate::access::insert_token::<$dialect>(token, secret_hash)
                    .build()
                    .execute(self.db())
                    .await
                    .map_err(crate::error::db)?;
                Ok(())
            }

            async fn token_by_hash(
                &self,
                secret_hash: &str,
            ) -> Result<Option<bifrost_core::access::Token>, bifrost_core::error::StoreError> {
                let row: Option<crate::access::TokenRow<$dialect>> =
                    crate::access::token_by_hash::<$dialect>(secret_hash)
                        .build_query_as()
                        .fetch_optional(self.db())
                        .await
                        .map_err(crate::error::db)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn touch_token(
                &self,
                id: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), bifrost_core::error::StoreError> {
                crate::access::set_token_time::<$dialect>(id, "last_used_at", false, at)
                    .build()
                    .execute(self.db())
                    .await
                    .map_err(crate::error::db)?;
                Ok(())
            }

            async fn tokens(
                &self,
            ) -> Result<Vec<bifrost_core::access::Token>, bifrost_core::error::StoreError> {
                let rows: Vec<crate::access::TokenRow<$dialect>> =
                    sqlx::QueryBuilder::new(format!(
                        "SELECT {} FROM api_tokens ORDER BY created_at DESC, id DESC",
                        crate::access::TOKEN_COLUMNS
                    ))
                    .build_query_as()
                    .fetch_all(self.db())
                    .await
                    .map_err(crate::error::db)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn revoke_token(
                &self,
                id: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bifrost_core::access::Token, bifrost_core::error::StoreError> {
                crate::access::set_token_time::<$dialect>(id, "revoked_at", true, at)
                    .build()
                    .execute(self.db())
                    .await
                    .map_err(crate::error::db)?;
                let row: crate::access::TokenRow<$dialect> =
                    crate::access::token_by_id::<$dialect>(id)
                        .build_query_as()
                        .fetch_one(self.db())
                        .await
                        .map_err(crate::error::db)?;
                row.try_into()
            }

            async fn idempotent_execution(
                &self,
                user_id: uuid::Uuid,
                key: &str,
                request_hash: &str,
                candidate: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<
                Result<uuid::Uuid, bifrost_core::access::KeyReused>,
                bifrost_core::error::StoreError,
            > {
                crate::access::insert_key::<$dialect>(user_id, key, request_hash, candidate, at)
                    .build()
                    .execute(self.db())
                    .await
                    .map_err(crate::error::db)?;
                let row: crate::access::KeyRow<$dialect> =
                    crate::access::select_key::<$dialect>(user_id, key)
                        .build_query_as()
                        .fetch_one(self.db())
                        .await
                        .map_err(crate::error::db)?;
                if row.request_hash != request_hash {
                    return Ok(Err(bifrost_core::access::KeyReused));
                }
                Ok(Ok(<$dialect as crate::list::Dialect>::id(
                    row.execution_id,
                )?))
            }

            async fn forget_before(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> Result<(u64, u64), bifrost_core::error::StoreError> {
                let tokens = crate::access::forget_tokens::<$dialect>(before)
                    .build()
                    .execute(self.db())
                    .await
                    .map_err(crate::error::db)?
                    .rows_affected();
                let keys = crate::access::forget_keys::<$dialect>(before)
                    .build()
                    .execute(self.db())
                    .await
                    .map_err(crate::error::db)?
                    .rows_affected();
                Ok((tokens, keys))
            }

            async fn audit(
                &self,
                entry: &bifrost_core::access::AuditEntry,
            ) -> Result<(), bifrost_core::error::StoreError> {
                crate::access::insert_audit::<$dialect>(entry)
                    .build()
                    .execute(self.db())
                    .await
                    .map_err(crate::error::db)?;
                Ok(())
            }

            async fn audit_log(
                &self,
                scope: &bifrost_core::Scope,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<bifrost_core::access::AuditEntry>, bifrost_core::error::StoreError>
            {
                let rows: Vec<crate::access::AuditRow<$dialect>> =
                    crate::access::audit_page::<$dialect>(scope, before, limit)
                        .build_query_as()
                        .fetch_all(self.db())
                        .await
                        .map_err(crate::error::db)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}
pub(crate) use access_store;
