-- Workflows that start workflows: a child execution names the execution that started it.
-- Nullable without a default: adding it rewrites no row. The index serves a parent's
-- children (waiting for them, cancelling them) and holds only children.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS parent_execution_id uuid;
CREATE INDEX IF NOT EXISTS executions_parent_idx ON executions (parent_execution_id)
    WHERE parent_execution_id IS NOT NULL;
