-- Live log streams of the embedded default: the lines of running executions, in the same
-- file as the store, so that every process on the machine sees them while the run goes
-- on. One row per entry, keyed like a Redis stream entry; moved to execution_logs and
-- deleted at the end of the run. No foreign key: a stream is independent of the row, as
-- in Redis.
CREATE TABLE IF NOT EXISTS live_logs (
    execution_id  TEXT NOT NULL,
    stream_ms     INTEGER NOT NULL,
    stream_seq    INTEGER NOT NULL,
    level         TEXT NOT NULL,
    message       TEXT NOT NULL,
    log_metadata  TEXT,
    "timestamp"   INTEGER NOT NULL,
    PRIMARY KEY (execution_id, stream_ms, stream_seq)
) WITHOUT ROWID;
