-- The queue of executions: a submitted execution is due at `scheduled_at`; rows `run`
-- writes have none and are never claimed. Runners claim due rows with
-- `FOR UPDATE SKIP LOCKED`, oldest due first.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS scheduled_at timestamptz;
-- Whether the submitter is a platform admin, so that the instance acts as one, as it would
-- under `run` with the same identity.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS submitted_as_admin boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS executions_due_idx
    ON executions (scheduled_at, id)
    WHERE status IN ('Pending', 'Scheduled') AND scheduled_at IS NOT NULL;

-- A submission wakes the runners waiting on `LISTEN bifrost_queue`, whoever inserts it
-- (the CLI, a platform writing rows itself). The notification is sent at commit.
CREATE OR REPLACE FUNCTION bifrost_queue_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bifrost_queue', '');
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS executions_queue_notify ON executions;
CREATE TRIGGER executions_queue_notify
    AFTER INSERT ON executions
    FOR EACH ROW WHEN (NEW.scheduled_at IS NOT NULL)
    EXECUTE FUNCTION bifrost_queue_notify();
