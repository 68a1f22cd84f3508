"""The executions module's examples from the reference SDK's documentation, verbatim, as one
workflow: build it with `bifrost-build reference_examples.py` and run it in the runner.

The only change is the id passed to `executions.get`: the documentation writes a placeholder
(`"a1b2c3d4-..."`); this workflow takes one as its input, or the most recent execution's.
"""

from bifrost import executions, workflow


@workflow
async def reference_examples(execution_id: str | None = None):
    recent = await executions.list(limit=10)
    failed_today = await executions.list(status="Failed", start_date="2026-04-25")

    detail = await executions.get(execution_id or recent[0].execution_id)
    print(detail.status, detail.duration_ms)

    logs = await executions.get_current_logs()
    for entry in logs:
        print(f"[{entry.level}] {entry.message}")

    return {
        "recent": [e.execution_id for e in recent],
        "failed_today": [e.execution_id for e in failed_today],
        "detail": {"status": detail.status, "duration_ms": detail.duration_ms},
        "logs": [f"[{entry.level}] {entry.message}" for entry in logs],
    }
