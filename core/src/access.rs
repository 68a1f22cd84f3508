//! Who may reach the platform from outside the sandbox: API tokens, what each may do, and
//! the audit record of what was done with them.
//!
//! A token stands for one [`Identity`] (user, display name, organisation, platform admin
//! flag) and a set of [`Scopes`]. Its secret is shown once, when it is made; the store keeps
//! only the SHA-256 of the secret (a high-entropy secret needs no password hash) and a short
//! prefix of it that people can recognise in a list. The identity of every API call comes
//! from its token and nothing else; what that identity may see is the one visibility rule
//! of [`Identity::can_view`].
//!
//! This module holds the model and the rules, with no I/O and no randomness: the secret is
//! made and hashed by the API crate, the rows kept by the stores of `bifrost-sql` (and
//! [`MemoryAccessStore`] for tests of pure logic).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::StoreError;
use crate::{Identity, Scope};

/// Longest token label, in bytes.
pub const MAX_TOKEN_NAME_BYTES: usize = 200;

/// What a token may do, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// Read executions and their logs (`GET /executions...`, `GET /workflows`).
    pub const READ: Scopes = Scopes(1);
    /// Submit and cancel executions.
    pub const RUN: Scopes = Scopes(2);
    /// Deploy and remove workflows.
    pub const DEPLOY: Scopes = Scopes(4);
    /// Manage tokens and read the audit record.
    pub const ADMIN: Scopes = Scopes(8);
    /// Every scope.
    pub const ALL: Scopes = Scopes(15);
    /// Each scope with its name, in order.
    pub const NAMED: [(Scopes, &'static str); 4] = [
        (Scopes::READ, "read"),
        (Scopes::RUN, "run"),
        (Scopes::DEPLOY, "deploy"),
        (Scopes::ADMIN, "admin"),
    ];

    /// No scope.
    pub const fn empty() -> Self {
        Scopes(0)
    }

    /// Whether every scope of `other` is in this set.
    pub const fn contains(self, other: Scopes) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets.
    pub const fn union(self, other: Scopes) -> Self {
        Scopes(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the scopes in the set, in order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMED
            .iter()
            .filter(|(s, _)| self.contains(*s))
            .map(|(_, n)| *n)
            .collect()
    }

    /// A set from scope names, each `read`, `run`, `deploy` or `admin`; names may repeat.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut set = Scopes::empty();
        for name in names {
            let name = name.trim();
            let Some((s, _)) = Self::NAMED.iter().find(|(_, n)| *n == name) else {
                return Err(format!(
                    "unknown scope {name:?}: each is one of read, run, deploy, admin"
                ));
            };
            set = set.union(*s);
        }
        Ok(set)
    }

    /// The set as stored: its names joined by commas.
    pub fn to_text(self) -> String {
        self.names().join(",")
    }

    /// A set as stored; an unknown name is a store error (the rows are this crate's).
    pub fn from_text(text: &str) -> Result<Self, StoreError> {
        if text.is_empty() {
            return Ok(Scopes::empty());
        }
        Self::parse(text.split(',')).map_err(StoreError::Database)
    }
}

impl Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// An API token as kept and shown: everything but its secret, which is never kept.
/// Serialised with the identity's fields at the top level (`user_id`, `user_name`,
/// `organization_id`, `is_platform_admin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    /// The token's id (not secret: `tokens revoke ID`).
    pub id: Uuid,
    /// A label for people.
    pub name: String,
    /// The secret's first characters, to recognise it in a list (not enough to use it).
    pub prefix: String,
    /// Who it acts as.
    #[serde(flatten)]
    pub identity: Identity,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The token that made it, if it was made through the API (`None`: by the CLI).
    pub created_by: Option<Uuid>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to the minute or so.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Token {
    /// Whether the token works at `now`: neither revoked nor expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| now < t)
    }

    /// Whether a token with `identity`, `scopes` and `expires_at` grants nothing this one
    /// does not: the same identity, a subset of the scopes, and an end no later. What a
    /// token made through the API must be, so that the API never mints more than its
    /// caller has.
    pub fn covers(
        &self,
        identity: &Identity,
        scopes: Scopes,
        expires_at: Option<DateTime<Utc>>,
    ) -> bool {
        let ends_in_time = match (self.expires_at, expires_at) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => theirs <= mine,
        };
        self.identity == *identity && self.scopes.contains(scopes) && ends_in_time
    }
}

/// One act recorded in the audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Position in the record: later acts have larger ones.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the user the act was done as.
    pub user_id: Uuid,
    /// Their display name.
    pub user_name: String,
    /// Their organisation: an organisation's admin reads the acts of its own only.
    pub organization_id: Option<Uuid>,
    /// The token it was done with (`None`: the CLI, which holds the database).
    pub token_id: Option<Uuid>,
    /// What: `token.create`, `token.revoke`, `execution.submit`, `execution.cancel`,
    /// `execution.purge`, `workflow.deploy`, `workflow.remove`.
    pub action: String,
    /// To what: a token id, an execution id, a workflow name.
    pub target: String,
    /// Particulars (a deployed version's hash, a submitted workflow's name).
    pub detail: serde_json::Value,
}

/// Where tokens, idempotency keys and the audit record are kept.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Keeps a new token with the SHA-256 of its secret (lowercase hex).
    async fn create_token(&self, token: &Token, secret_hash: &str) -> Result<(), StoreError>;

    /// The token whose secret hashes to `secret_hash`, active or not; `None` if none.
    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<Token>, StoreError>;

    /// Notes that token `id` was used at `at`.
    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Every token, newest first.
    async fn tokens(&self) -> Result<Vec<Token>, StoreError>;

    /// Revokes token `id` at `at` (a revoked one keeps its first revocation time) and
    /// returns it; [`StoreError::NotFound`] if there is none.
    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<Token, StoreError>;

    /// The execution id that `key` of `user_id` stands for: the one already kept with
    /// the same `request_hash`, or `Err(())` inside `Ok` when the key was used for another
    /// request; else `candidate`, now kept for it.
    async fn idempotent_execution(
        &self,
        user_id: Uuid,
        key: &str,
        request_hash: &str,
        candidate: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Result<Uuid, KeyReused>, StoreError>;

    /// For a purge: deletes the idempotency keys kept before `before` (a submission
    /// retried with such a key after that makes a new execution) and the tokens that
    /// expired or were revoked before `before` (they can no longer be used, and `tokens
    /// list` stops showing them). Returns how many tokens and how many keys went. The
    /// audit record is never purged: it is where purges are recorded.
    async fn forget_before(&self, before: DateTime<Utc>) -> Result<(u64, u64), StoreError>;

    /// Appends an act to the audit record.
    async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Up to `limit` acts of the record done in `scope` ([`Scope::All`]: every act;
    /// [`Scope::Organization`]: those of its users), newest first, before position
    /// `before` if given. A user's own scope reads nothing: the record is for admins.
    async fn audit_log(
        &self,
        scope: &Scope,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// An idempotency key already used for a different request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyReused;

/// Tokens, keys and the audit record in memory: for tests and the in-process default.
#[derive(Debug, Default)]
pub struct MemoryAccessStore {
    inner: Mutex<MemoryAccess>,
}

#[derive(Debug, Default)]
struct MemoryAccess {
    tokens: Vec<(Token, String)>,
    keys: BTreeMap<(Uuid, String), (String, Uuid, DateTime<Utc>)>,
    audit: Vec<AuditEntry>,
}

impl MemoryAccessStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryAccess> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl AccessStore for MemoryAccessStore {
    async fn create_token(&self, token: &Token, secret_hash: &str) -> Result<(), StoreError> {
        self.lock()
            .tokens
            .push((token.clone(), secret_hash.to_owned()));
        Ok(())
    }

    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<Token>, StoreError> {
        Ok(self
            .lock()
            .tokens
            .iter()
            .find(|(_, h)| h == secret_hash)
            .map(|(t, _)| t.clone()))
    }

    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some((t, _)) = self.lock().tokens.iter_mut().find(|(t, _)| t.id == id) {
            t.last_used_at = Some(at);
        }
        Ok(())
    }

    async fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        let mut all: Vec<Token> = self.lock().tokens.iter().map(|(t, _)| t.clone()).collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(all)
    }

    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<Token, StoreError> {
        let mut inner = self.lock();
        let (t, _) = inner
            .tokens
            .iter_mut()
            .find(|(t, _)| t.id == id)
            .ok_or(StoreError::NotFound)?;
        t.revoked_at.get_or_insert(at);
        Ok(t.clone())
    }

    async fn idempotent_execution(
        &self,
        user_id: Uuid,
        key: &str,
        request_hash: &str,
        candidate: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Result<Uuid, KeyReused>, StoreError> {
        let mut inner = self.lock();
        let (hash, id, _) = inner
            .keys
            .entry((user_id, key.to_owned()))
            .or_insert_with(|| (request_hash.to_owned(), candidate, at));
        Ok(if hash == request_hash {
            Ok(*id)
        } else {
            Err(KeyReused)
        })
    }

    async fn forget_before(&self, before: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        let mut inner = self.lock();
        let (tokens, keys) = (inner.tokens.len(), inner.keys.len());
        inner.tokens.retain(|(t, _)| {
            !(t.revoked_at.is_some_and(|at| at < before)
                || t.expires_at.is_some_and(|at| at < before))
        });
        inner.keys.retain(|_, (_, _, at)| *at >= before);
        Ok((
            (tokens - inner.tokens.len()) as u64,
            (keys - inner.keys.len()) as u64,
        ))
    }

    async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let seq = inner.audit.len() as i64 + 1;
        inner.audit.push(AuditEntry {
            seq,
            ..entry.clone()
        });
        Ok(())
    }

    async fn audit_log(
        &self,
        scope: &Scope,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self
            .lock()
            .audit
            .iter()
            .rev()
            .filter(|e| before.is_none_or(|b| e.seq < b))
            .filter(|e| match scope {
                Scope::All => true,
                Scope::Organization(org) => e.organization_id == Some(*org),
                Scope::OwnExecutions { .. } => false,
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scopes: Scopes, expires_at: Option<DateTime<Utc>>) -> Token {
        Token {
            id: Uuid::new_v4(),
            name: "t".into(),
            prefix: "bfr_abcd".into(),
            identity: Identity::operator(),
            scopes,
            created_at: Utc::now(),
            created_by: None,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn scopes_parse_and_print_by_name() {
        let s = Scopes::parse(["run", "read", "run"]).unwrap();
        assert_eq!(s.names(), ["read", "run"]);
        assert_eq!(Scopes::from_text(&s.to_text()).unwrap(), s);
        assert_eq!(Scopes::from_text("").unwrap(), Scopes::empty());
        assert_eq!(Scopes::ALL.names(), ["read", "run", "deploy", "admin"]);
        let e = Scopes::parse(["write"]).unwrap_err();
        assert!(e.contains("\"write\""), "{e}");
    }

    #[test]
    fn a_token_works_until_it_expires_or_is_revoked() {
        let now = Utc::now();
        let mut t = token(Scopes::READ, Some(now + chrono::TimeDelta::seconds(1)));
        assert!(t.is_active(now));
        assert!(!t.is_active(now + chrono::TimeDelta::seconds(1)));
        t.expires_at = None;
        assert!(t.is_active(now));
        t.revoked_at = Some(now);
        assert!(!t.is_active(now));
    }

    #[test]
    fn a_token_covers_only_what_it_has_itself() {
        let now = Utc::now();
        let later = now + chrono::TimeDelta::days(1);
        let t = token(Scopes::READ.union(Scopes::RUN), Some(later));
        let me = Identity::operator();
        assert!(t.covers(&me, Scopes::READ, Some(now)));
        assert!(t.covers(&me, Scopes::READ.union(Scopes::RUN), Some(later)));
        // More scopes, a later end or no end, another identity: not covered.
        assert!(!t.covers(&me, Scopes::DEPLOY, Some(now)));
        assert!(!t.covers(&me, Scopes::READ, None));
        assert!(!t.covers(
            &me,
            Scopes::READ,
            Some(later + chrono::TimeDelta::seconds(1))
        ));
        let mut other = me.clone();
        other.organization_id = Some(Uuid::new_v4());
        assert!(!t.covers(&other, Scopes::READ, Some(now)));
    }
}
