-- Workflows deployed by name, as on PostgreSQL. Times are integer microseconds (UTC).

CREATE TABLE IF NOT EXISTS workflow_components (
    hash        TEXT PRIMARY KEY NOT NULL,  -- SHA-256 of bytes, lowercase hex
    bytes       BLOB NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS workflows (
    name              TEXT PRIMARY KEY NOT NULL,
    hash              TEXT NOT NULL REFERENCES workflow_components (hash),
    deployed_by       TEXT NOT NULL,
    deployed_by_name  TEXT NOT NULL,
    deployed_at       INTEGER NOT NULL
);

-- The version (component hash) an execution ran; NULL for a component run from a file.
ALTER TABLE executions ADD COLUMN workflow_version TEXT;
