-- Workflows deployed by name. A component is stored once, by the SHA-256 of its bytes; a
-- name points at its latest version. Executions record the version they ran.

CREATE TABLE IF NOT EXISTS workflow_components (
    hash        text PRIMARY KEY,           -- SHA-256 of bytes, lowercase hex
    bytes       bytea NOT NULL,
    size        bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS workflows (
    name              text PRIMARY KEY,
    hash              text NOT NULL REFERENCES workflow_components (hash),
    deployed_by       uuid NOT NULL,
    deployed_by_name  text NOT NULL,
    deployed_at       timestamptz NOT NULL
);

-- The version (component hash) an execution ran; NULL for a component run from a file.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS workflow_version text;
