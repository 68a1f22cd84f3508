-- Who may reach the platform through its HTTP API, as on PostgreSQL: tokens (the SHA-256
-- of each secret, never the secret), the idempotency keys of submissions, and the audit
-- record. Ids are UUID text, times integer microseconds (UTC), JSON text.

CREATE TABLE IF NOT EXISTS api_tokens (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    prefix             TEXT NOT NULL,
    secret_hash        TEXT NOT NULL UNIQUE,
    user_id            TEXT NOT NULL,
    user_name          TEXT NOT NULL,
    organization_id    TEXT,
    is_platform_admin  INTEGER NOT NULL,
    scopes             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    created_by         TEXT,
    expires_at         INTEGER,
    last_used_at       INTEGER,
    revoked_at         INTEGER
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id       TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    execution_id  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE IF NOT EXISTS audit_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    user_id    TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    token_id   TEXT,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);
