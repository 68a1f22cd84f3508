-- Purges delete ended executions oldest first, by the time they ended.
CREATE INDEX IF NOT EXISTS executions_completed_idx ON executions (completed_at)
    WHERE completed_at IS NOT NULL;
