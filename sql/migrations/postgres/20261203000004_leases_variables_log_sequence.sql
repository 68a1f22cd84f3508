-- Additive, for runners that can tell a live execution from an abandoned one, variables
-- written one at a time, and log moves that number their lines in one lookup.

-- Until when the runner of a Running execution vouches for it. A live runner renews it
-- (a heartbeat); past it, a sweep may mark the execution Stuck. Rows running when this
-- migration runs keep their deadline as their lease.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS lease_until timestamptz;
UPDATE executions SET lease_until = deadline_at
    WHERE status = 'Running' AND lease_until IS NULL;
CREATE INDEX IF NOT EXISTS executions_running_lease_idx
    ON executions (lease_until) WHERE status = 'Running';

-- Runtime variables of a running execution, one row each, so that setting one writes only
-- that one. When the execution ends they are folded into executions.variables (Bifrost's
-- column) and removed from here; readers merge both.
CREATE TABLE IF NOT EXISTS execution_variables (
    execution_id  uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    name          text NOT NULL,
    value         jsonb NOT NULL,
    PRIMARY KEY (execution_id, name)
);

-- The next sequence number of an execution's log is one index probe, not a scan of the
-- lines already stored.
CREATE INDEX IF NOT EXISTS execution_logs_sequence_idx
    ON execution_logs (execution_id, sequence);
