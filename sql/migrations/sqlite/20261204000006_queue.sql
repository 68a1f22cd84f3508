-- The queue of executions, as on PostgreSQL: a submitted execution is due at
-- `scheduled_at` (integer microseconds); rows `run` writes have none and are never claimed.
ALTER TABLE executions ADD COLUMN scheduled_at INTEGER;
-- Whether the submitter is a platform admin, so that the instance acts as one, as it would
-- under `run` with the same identity.
ALTER TABLE executions ADD COLUMN submitted_as_admin INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS executions_due_idx
    ON executions (scheduled_at, id)
    WHERE status IN ('Pending', 'Scheduled') AND scheduled_at IS NOT NULL;
