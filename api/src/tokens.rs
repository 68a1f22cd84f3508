//! API tokens: making one (a secret shown once, its SHA-256 kept), and finding the caller
//! of a request from its `Authorization: Bearer` header.
//!
//! A secret is `bfr_` and 48 lowercase hex digits (24 bytes from the operating system's
//! random source). It is looked up by its SHA-256, and what the store answered is kept
//! for at most [`CACHE_FOR`] (one second) in the process: an expired token stops at once,
//! a token revoked through this process's API at once, one revoked elsewhere (the command
//! line, another process) within that second. The use time is written at most once a
//! minute per token.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use bifrost_core::Identity;
use bifrost_core::access::{AccessStore, AuditEntry, Scopes, Token};
use bifrost_core::error::StoreError;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ApiState;
use crate::error::Failure;

/// What every secret starts with.
pub const SECRET_PREFIX: &str = "bfr_";
/// Random bytes in a secret.
const SECRET_BYTES: usize = 24;
/// How much of a secret a list shows: the prefix and 8 hex digits.
const VISIBLE: usize = SECRET_PREFIX.len() + 8;
/// How often, at most, a token's use time is written.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);
/// How long a process keeps what the store answered for a secret.
pub const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(1);
/// Most secrets a process keeps; past it, it starts afresh.
const CACHE_MAX: usize = 10_000;

/// The tokens this process looked up lately, by the hash of their secret.
#[derive(Default)]
pub(crate) struct TokenCache {
    by_hash: std::sync::Mutex<HashMap<String, (Option<Token>, std::time::Instant)>>,
}

impl TokenCache {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Option<Token>, std::time::Instant)>> {
        self.by_hash.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token of `hash` (`None`: the store has none), as the store answered it within
    /// [`CACHE_FOR`], or from the store now.
    async fn lookup(
        &self,
        access: &dyn AccessStore,
        hash: &str,
    ) -> Result<(Option<Token>, bool), StoreError> {
        if let Some((token, at)) = self.lock().get(hash)
            && at.elapsed() < CACHE_FOR
        {
            return Ok((token.clone(), false));
        }
        let token = access.token_by_hash(hash).await?;
        let mut cache = self.lock();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(hash.to_owned(), (token.clone(), std::time::Instant::now()));
        Ok((token, true))
    }

    /// Forgets token `id`: revoked through this process.
    pub(crate) fn forget(&self, id: Uuid) {
        self.lock()
            .retain(|_, (t, _)| t.as_ref().is_none_or(|t| t.id != id));
    }
}

/// The SHA-256 of a secret, lowercase hex: what the store keeps.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` has a secret's form; anything else is refused before the store is asked.
fn well_formed(secret: &str) -> bool {
    secret.strip_prefix(SECRET_PREFIX).is_some_and(|h| {
        h.len() == SECRET_BYTES * 2 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A token to make: who it acts as, what it may do, until when.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// A label for people.
    pub name: String,
    /// Who it acts as.
    pub identity: Identity,
    /// What it may do.
    pub scopes: Scopes,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewToken {
    /// Checks the request: a label of at most 200 bytes, at least one scope, `admin` only
    /// for a platform admin, an end in the future.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Failure> {
        if self.name.len() > bifrost_core::access::MAX_TOKEN_NAME_BYTES || self.name.contains('\0')
        {
            return Err(Failure::invalid(
                "name",
                "at most 200 bytes, without U+0000",
            ));
        }
        if self.scopes.is_empty() {
            return Err(Failure::invalid("scopes", "name at least one scope"));
        }
        if self.scopes.contains(Scopes::ADMIN) && !self.identity.is_platform_admin {
            return Err(Failure::invalid(
                "scopes",
                "the admin scope is for platform admins only",
            ));
        }
        if self.expires_at.is_some_and(|t| t <= now) {
            return Err(Failure::invalid("expires_at", "must be in the future"));
        }
        Ok(())
    }
}

/// A token just made, as it is shown the one time its secret is: the token's fields and
/// the secret in `token`.
#[derive(Debug, serde::Serialize)]
pub struct CreatedToken {
    /// The token.
    #[serde(flatten)]
    pub token: Token,
    /// Its secret, which nothing keeps.
    #[serde(rename = "token")]
    pub secret: String,
}

/// Makes and keeps a token (`created_by`: the token of the API call that made it; `None`
/// from the CLI) and records it in the audit record; returns it with its secret, which
/// nothing keeps.
pub async fn create(
    access: &dyn AccessStore,
    new: NewToken,
    created_by: Option<&Token>,
) -> Result<CreatedToken, Failure> {
    let now = Utc::now().trunc_subsecs(6);
    new.check(now)?;
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        Failure::Api(bifrost_core::ApiError::Internal(format!(
            "no random source for the secret: {e}"
        )))
    })?;
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(bytes));
    let token = Token {
        id: Uuid::new_v4(),
        name: new.name,
        prefix: secret[..VISIBLE].to_owned(),
        identity: new.identity,
        scopes: new.scopes,
        created_at: now,
        created_by: created_by.map(|t| t.id),
        expires_at: new.expires_at.map(|t| t.trunc_subsecs(6)),
        last_used_at: None,
        revoked_at: None,
    };
    access.create_token(&token, &secret_hash(&secret)).await?;
    let actor = created_by.map_or(&token.identity, |t| &t.identity);
    audit(
        access,
        actor,
        created_by,
        "token.create",
        token.id.to_string(),
        serde_json::json!({
            "name": token.name,
            "user_id": token.identity.user_id,
            "scopes": token.scopes,
        }),
    )
    .await?;
    Ok(CreatedToken { token, secret })
}

/// Appends an act of `who` (with `token`, if through the API) to the audit record.
pub async fn audit(
    access: &dyn AccessStore,
    who: &Identity,
    token: Option<&Token>,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    access
        .audit(&AuditEntry {
            seq: 0,
            at: Utc::now().trunc_subsecs(6),
            user_id: who.user_id,
            user_name: who.user_name.clone(),
            organization_id: who.organization_id,
            token_id: token.map(|t| t.id),
            action: action.to_owned(),
            target,
            detail,
        })
        .await
}

/// The caller of a request: its token, active, found by the secret of its
/// `Authorization: Bearer` header. Anything else is a 401 with one body.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token.
    pub token: Token,
}

impl Caller {
    /// Who the caller is: the token's identity, and nothing the request says.
    pub fn identity(&self) -> &Identity {
        &self.token.identity
    }

    /// The caller's token has `scope`; else 403 naming it.
    pub fn require(&self, scope: Scopes) -> Result<(), Failure> {
        if self.token.scopes.contains(scope) {
            Ok(())
        } else {
            Err(Failure::Forbidden(format!(
                "this token lacks the {} scope",
                scope.names().join(", ")
            )))
        }
    }
}

impl Caller {
    /// The caller whose secret is `secret` (from a bearer header or the pages' session
    /// cookie): its token, active and within its rate. Anything else is one 401.
    pub(crate) async fn authenticate(state: &ApiState, secret: &str) -> Result<Caller, Failure> {
        let secret = secret.trim();
        if !well_formed(secret) {
            return Err(Failure::Unauthorized);
        }
        let (token, fetched) = state
            .tokens
            .lookup(&*state.access, &secret_hash(secret))
            .await?;
        let token = token.ok_or(Failure::Unauthorized)?;
        let now = Utc::now();
        if !token.is_active(now) {
            return Err(Failure::Unauthorized);
        }
        state.limits.admit(&token)?;
        if fetched && token.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY) {
            // Best effort: a store that cannot note the use does not refuse the request.
            if let Err(e) = state
                .access
                .touch_token(token.id, now.trunc_subsecs(6))
                .await
            {
                tracing::warn!(token = %token.id, error = %e, "cannot note a token's use");
            }
        }
        Ok(Caller { token })
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Failure> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Failure::Unauthorized)?;
        Caller::authenticate(state, secret).await
    }
}
