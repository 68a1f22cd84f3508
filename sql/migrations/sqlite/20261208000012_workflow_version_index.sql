-- Collecting stored versions asks whether an execution ran (or is to run) each one.
CREATE INDEX IF NOT EXISTS executions_version_idx ON executions (workflow_version)
    WHERE workflow_version IS NOT NULL;
