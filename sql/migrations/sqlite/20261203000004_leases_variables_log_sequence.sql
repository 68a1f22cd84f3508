-- Additive: see the PostgreSQL migration of the same name.
ALTER TABLE executions ADD COLUMN lease_until INTEGER;
UPDATE executions SET lease_until = deadline_at
    WHERE status = 'Running' AND lease_until IS NULL;
CREATE INDEX IF NOT EXISTS executions_running_lease_idx
    ON executions (lease_until) WHERE status = 'Running';

CREATE TABLE IF NOT EXISTS execution_variables (
    execution_id  TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (execution_id, name)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS execution_logs_sequence_idx
    ON execution_logs (execution_id, sequence);
