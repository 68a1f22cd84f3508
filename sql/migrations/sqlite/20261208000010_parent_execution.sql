-- Workflows that start workflows: a child execution names the execution that started it.
-- The index serves a parent's children (waiting for them, cancelling them) and holds only
-- children.
ALTER TABLE executions ADD COLUMN parent_execution_id TEXT;
CREATE INDEX IF NOT EXISTS executions_parent_idx ON executions (parent_execution_id)
    WHERE parent_execution_id IS NOT NULL;
