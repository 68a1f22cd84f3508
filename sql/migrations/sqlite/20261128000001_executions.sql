-- The embedded store: the same tables and columns as on PostgreSQL, in SQLite's types.
-- Ids are UUID text (lower case, hyphenated: text order is byte order, as in PostgreSQL);
-- timestamps are integer microseconds since the Unix epoch (UTC); JSON is text.

CREATE TABLE IF NOT EXISTS executions (
    id                 TEXT PRIMARY KEY NOT NULL,
    workflow_name      TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'Pending' CHECK (status IN (
        'Scheduled', 'Pending', 'Running', 'Success', 'Failed', 'Timeout', 'Stuck',
        'CompletedWithErrors', 'Cancelling', 'Cancelled')),
    parameters         TEXT NOT NULL DEFAULT '{}',
    result             TEXT,
    result_type        TEXT,
    variables          TEXT,
    error_message      TEXT,
    duration_ms        INTEGER,
    started_at         INTEGER,
    completed_at       INTEGER,
    created_at         INTEGER NOT NULL,
    executed_by        TEXT NOT NULL,
    executed_by_name   TEXT NOT NULL,
    organization_id    TEXT,
    form_id            TEXT,
    session_id         TEXT,
    peak_memory_bytes  INTEGER,
    cpu_total_seconds  REAL
);

CREATE INDEX IF NOT EXISTS executions_started_idx
    ON executions (started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_workflow_started_idx
    ON executions (workflow_name, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_status_started_idx
    ON executions (status, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_workflow_status_started_idx
    ON executions (workflow_name, status, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_org_started_idx
    ON executions (organization_id, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_org_workflow_started_idx
    ON executions (organization_id, workflow_name, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_org_status_started_idx
    ON executions (organization_id, status, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_user_started_idx
    ON executions (executed_by, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_user_workflow_started_idx
    ON executions (executed_by, workflow_name, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_user_status_started_idx
    ON executions (executed_by, status, started_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS execution_logs (
    id            INTEGER PRIMARY KEY,
    execution_id  TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    level         TEXT NOT NULL,
    message       TEXT NOT NULL,
    log_metadata  TEXT,
    "timestamp"   INTEGER NOT NULL,
    sequence      INTEGER NOT NULL,
    stream_id     TEXT NOT NULL,
    stream_ms     INTEGER NOT NULL,
    stream_seq    INTEGER NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS execution_logs_stream_idx
    ON execution_logs (execution_id, stream_ms, stream_seq);
