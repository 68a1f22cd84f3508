"""The reference platform's stack for the side-by-side benchmark: the same list, get and
live-log read as bifrost-bench's native Rust calls, made from Python with asyncpg and
redis-py (the drivers under the reference platform's SDK path).

Driven by bifrost-bench over stdin/stdout, one JSON object per line:
  {"op": "setup", "dsn": ..., "redis": ..., "key": ..., "id": ...}  -> {"ok": true}
  {"op": "list" | "get" | "logs", "n": N}  -> {"seconds_per_call": s, "items": k}
Each call is awaited in turn, as a workflow would make them; results are decoded into
dicts (JSON columns parsed), as the SDK hands them to a workflow.
"""

import asyncio
import json
import sys
import time
import uuid

import asyncpg
import redis.asyncio as aioredis

COLUMNS = (
    "id, workflow_name, status::text AS status, parameters, result, result_type, variables, "
    "error_message, duration_ms, started_at, completed_at, created_at, executed_by, "
    "executed_by_name, organization_id, form_id, session_id, peak_memory_bytes, "
    "cpu_total_seconds, log_lines_dropped"
)
LIST_SQL = f"SELECT {COLUMNS} FROM executions WHERE TRUE ORDER BY started_at DESC, id DESC LIMIT $1"
GET_SQL = f"SELECT {COLUMNS} FROM executions WHERE id = $1"
LOGS_SQL = (
    'SELECT execution_id, level, message, log_metadata, "timestamp", stream_ms, stream_seq '
    "FROM execution_logs WHERE execution_id = $1 AND (stream_ms, stream_seq) >= ($2, $3) "
    "ORDER BY stream_ms, stream_seq LIMIT $4"
)


async def main():
    pool = rds = key = exec_id = None
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "setup":
            async def init(conn):
                await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

            pool = await asyncpg.create_pool(cmd["dsn"], min_size=1, max_size=4, init=init)
            rds = aioredis.from_url(cmd["redis"], decode_responses=True)
            key, exec_id = cmd["key"], uuid.UUID(cmd["id"])
            reply = {"ok": True}
        else:
            n = cmd["n"]
            items = 0
            start = time.perf_counter()
            for _ in range(n):
                if op == "list":
                    rows = [dict(r) for r in await pool.fetch(LIST_SQL, 50)]
                    items += len(rows)
                elif op == "get":
                    row = await pool.fetchrow(GET_SQL, exec_id)
                    execution = dict(row)
                    execution["logs"] = [dict(r) for r in await pool.fetch(LOGS_SQL, row["id"], 0, 0, 1000)]
                    items += len(execution["logs"])
                elif op == "logs":
                    entries = []
                    for entry_id, fields in await rds.xrange(key, "-", "+", count=100):
                        meta = json.loads(fields.get("metadata", "{}"))
                        entries.append(
                            {
                                "id": entry_id,
                                "level": fields["level"],
                                "message": fields["message"],
                                "metadata": meta or None,
                                "timestamp": fields["timestamp"],
                            }
                        )
                    items += len(entries)
                else:
                    raise ValueError(f"unknown op {op}")
            reply = {"seconds_per_call": (time.perf_counter() - start) / n, "items": items}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


asyncio.run(main())
