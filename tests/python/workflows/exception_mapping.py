"""Which exception each failing call raises, as a workflow author sees it: the reference
SDK's ValueError, PermissionError and RuntimeError, and the package's ExecutionsError."""

from __future__ import annotations

from typing import Any

from bifrost import ExecutionsError, executions, workflow


def describe(e: Exception) -> dict[str, Any]:
    return {
        "type": type(e).__name__,
        "value_error": isinstance(e, ValueError),
        "permission_error": isinstance(e, PermissionError),
        "runtime_error": isinstance(e, RuntimeError),
        "executions_error": isinstance(e, ExecutionsError),
        "kind": getattr(e, "kind", None),
        "parameter": getattr(e, "parameter", None),
        "retryable": getattr(e, "retryable", None),
        "message": str(e),
    }


@workflow
async def exception_mapping(unknown: str, foreign: str) -> dict[str, Any]:
    calls = {
        "not_found": lambda: executions.get(unknown),
        "denied": lambda: executions.get(foreign),
        "bad_id": lambda: executions.get("not-a-uuid"),
        "bad_limit": lambda: executions.list(limit=0),
        "negative_limit": lambda: executions.list(limit=-3),
        "bad_date": lambda: executions.list(start_date="yesterday"),
        "bad_status": lambda: executions.list(status="Done"),
        "bad_count": lambda: executions.get_current_logs(count=0),
        "bad_start": lambda: executions.get_current_logs(start="soon"),
        "current_logs": lambda: executions.get_current_logs(),
    }
    out: dict[str, Any] = {}
    for name, call in calls.items():
        try:
            await call()
            out[name] = "ok"
        except Exception as e:
            out[name] = describe(e)
    # The reference SDK's own idiom.
    try:
        await executions.get(unknown)
    except ValueError:
        out["caught_value_error"] = True
    try:
        await executions.get(foreign)
    except PermissionError:
        out["caught_permission_error"] = True
    return out
