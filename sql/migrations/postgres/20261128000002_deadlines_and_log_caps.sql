-- Additive: when a running execution must have ended (for the sweep that marks executions
-- of a stopped runner Stuck), and how many log lines the log caps did not keep.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS deadline_at timestamptz;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS log_lines_dropped bigint;
CREATE INDEX IF NOT EXISTS executions_running_deadline_idx
    ON executions (deadline_at) WHERE status = 'Running';
