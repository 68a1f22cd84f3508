-- Executions and their persisted logs, with Bifrost's table and column names so that the
-- same database can serve both (differences are additive only).

DO $$ BEGIN
    CREATE TYPE execution_status AS ENUM (
        'Scheduled', 'Pending', 'Running', 'Success', 'Failed', 'Timeout', 'Stuck',
        'CompletedWithErrors', 'Cancelling', 'Cancelled'
    );
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS executions (
    id                 uuid PRIMARY KEY,
    workflow_name      text NOT NULL,
    status             execution_status NOT NULL DEFAULT 'Pending',
    parameters         jsonb NOT NULL DEFAULT '{}'::jsonb,
    result             jsonb,
    result_type        text,
    variables          jsonb,
    error_message      text,
    duration_ms        bigint,
    started_at         timestamptz,
    completed_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    executed_by        uuid NOT NULL,
    executed_by_name   text NOT NULL,
    organization_id    uuid,
    form_id            uuid,
    session_id         text,
    peak_memory_bytes  bigint,
    cpu_total_seconds  double precision
);

-- Newest first with a deterministic tie order, for each visibility scope (all, one
-- organisation, one user) alone and combined with each equality filter. Date bounds are
-- ranges on the trailing started_at; the (started_at, id) cursor continues any of them.
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
    id            bigserial PRIMARY KEY,
    execution_id  uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    level         text NOT NULL,
    message       text NOT NULL,
    log_metadata  jsonb,
    "timestamp"   timestamptz NOT NULL,
    sequence      bigint NOT NULL,
    -- Addition: the live stream's entry id, kept so that readers see the same ids after the
    -- move, split for ordering and range reads.
    stream_id     text NOT NULL,
    stream_ms     bigint NOT NULL,
    stream_seq    bigint NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS execution_logs_stream_idx
    ON execution_logs (execution_id, stream_ms, stream_seq);
