-- Additive: see the PostgreSQL migration of the same name.
ALTER TABLE executions ADD COLUMN deadline_at INTEGER;
ALTER TABLE executions ADD COLUMN log_lines_dropped INTEGER;
CREATE INDEX IF NOT EXISTS executions_running_deadline_idx
    ON executions (deadline_at) WHERE status = 'Running';
