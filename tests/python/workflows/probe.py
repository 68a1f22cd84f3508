"""The conformance probe in Python: the Rust probe's protocol (tests/protocol), answered
through the `bifrost` package as a Python author would call it.

The input is `{"calls": [...], "nul": marker?}`; the result one answer per call,
`{"ok": value}` or `{"err": {"kind", "parameter", "message"}}`, in the same JSON as the Rust
probe writes, so that the tests compare the two answer for answer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import bifrost
from bifrost import ExecutionsError, context, executions, workflow
from bifrost._dates import format_timestamp


def with_nul(value: Any, marker: str) -> Any:
    if isinstance(value, str):
        return value.replace(marker, "\0")
    if isinstance(value, list):
        return [with_nul(v, marker) for v in value]
    if isinstance(value, dict):
        return {k.replace(marker, "\0"): with_nul(v, marker) for k, v in value.items()}
    return value


def plain(value: Any) -> Any:
    """A value as the Rust probe serialises it: times in the host's form."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name in ("started_at", "completed_at", "created_at") and v is not None:
                v = format_timestamp(v)
            out[f.name] = plain(v)
        return out
    return value


def err(e: ExecutionsError) -> dict[str, Any]:
    return {
        "err": {
            "kind": e.kind,
            "parameter": getattr(e, "parameter", None),
            "message": str(e),
        }
    }


def list_args(call: dict[str, Any], size_name: str) -> dict[str, Any]:
    args = {k: call[k] for k in ("workflow_name", "status", "start_date", "end_date") if k in call}
    if "limit" in call:
        args[size_name] = call["limit"]
    return args


async def answer(call: dict[str, Any]) -> dict[str, Any]:
    op = call["op"]
    try:
        if op == "list":
            return {"ok": plain(await executions.list(**list_args(call, "limit")))}
        if op == "list_all":
            found = []
            async for page in executions.pages(**list_args(call, "page_size")):
                found.extend(page)
            return {"ok": plain(found)}
        if op == "get":
            return {"ok": plain(await executions.get(call["id"]))}
        if op == "logs":
            args = {k: call[k] for k in ("execution_id", "start", "count") if k in call}
            return {"ok": plain(await executions.get_current_logs(**args))}
        if op == "read_all_logs":
            args = {"execution_id": call.get("execution_id")}
            if "count" in call:
                args["page_size"] = call["count"]
            return {"ok": plain([e async for e in executions.log_entries(**args)])}
        if op == "log":
            bifrost.log(call["level"], call["message"], call.get("metadata"))
            return {"ok": None}
        if op == "context":
            caller = context.caller()
            return {
                "ok": {
                    "execution_id": context.execution_id(),
                    "workflow_name": context.workflow_name(),
                    "user_id": caller.user_id,
                    "user_name": caller.user_name,
                    "org_id": caller.org_id,
                    "is_platform_admin": caller.is_platform_admin,
                }
            }
        if op == "set_variable":
            context.set_variable(call["name"], call["value"])
            return {"ok": None}
        if op == "print":
            print(call["text"])
            return {"ok": None}
        if op == "fail":
            raise RuntimeError(call["message"])
    except ExecutionsError as e:
        return err(e)
    raise ValueError(f"bad call: the Python probe does not make {op!r} calls")


@workflow
async def probe(calls: list[dict[str, Any]], nul: str | None = None) -> list[dict[str, Any]]:
    if nul is not None:
        calls = [with_nul(c, nul) for c in calls]
    return [await answer(call) for call in calls]
