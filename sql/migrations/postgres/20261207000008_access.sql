-- Who may reach the platform through its HTTP API: tokens (the SHA-256 of each secret,
-- never the secret), the idempotency keys of submissions, and the audit record.

CREATE TABLE IF NOT EXISTS api_tokens (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL,
    prefix             text NOT NULL,          -- the secret's first characters, for people
    secret_hash        text NOT NULL UNIQUE,   -- SHA-256 of the secret, lowercase hex
    user_id            uuid NOT NULL,
    user_name          text NOT NULL,
    organization_id    uuid,
    is_platform_admin  boolean NOT NULL,
    scopes             text NOT NULL,          -- comma-separated: read, run, deploy, admin
    created_at         timestamptz NOT NULL,
    created_by         uuid,                   -- the token that made it; NULL: the CLI
    expires_at         timestamptz,
    last_used_at       timestamptz,
    revoked_at         timestamptz
);

-- A submission retried with the same `Idempotency-Key` (per user) gets the same execution.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id       uuid NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,               -- SHA-256 of the request it was first used for
    execution_id  uuid NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE IF NOT EXISTS audit_log (
    seq        bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    user_id    uuid NOT NULL,
    user_name  text NOT NULL,
    token_id   uuid,
    action     text NOT NULL,
    target     text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'
);
