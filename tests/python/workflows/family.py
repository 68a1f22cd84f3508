"""A parent and its child in one workflow, through `bifrost.workflows`: the reference's
"sub-workflow context passing". The twin of the Rust program `tests/programs/src/family.rs`,
whose doc comment gives the input and the result; both answer alike, word for word.
"""

from __future__ import annotations

import logging
from typing import Any

from bifrost import ChildExecutionFailed, ExecutionsError, context, executions, workflow, workflows


@workflow
async def family(
    role: str,
    child: str = "",
    lines: int = 0,
    child_role: str | None = None,
    peek: str | None = None,
) -> Any:
    if role == "parent":
        for n in range(1, lines + 1):
            logging.info(f"before {n}")
        try:
            result = await workflows.execute(child, {"role": child_role or "child", "peek": peek})
        except ChildExecutionFailed as e:
            answer: Any = {
                "failed": {"execution_id": e.execution_id, "status": e.status, "message": str(e)}
            }
        except ExecutionsError as e:
            answer = {"error": str(e)}
        else:
            # The reference's `execute` returns the result; the child's id is in its record,
            # found among this execution's children.
            (record,) = [
                e
                for e in await executions.list(workflow_name=child, limit=1000)
                if e.parent_execution_id == context.execution_id()
            ]
            answer = {
                "child": result,
                "child_id": record.execution_id,
                "child_parent": record.parent_execution_id,
            }
        logging.info("after")
        return answer
    if role == "child":
        parent = context.parent_execution_id()
        if parent is None:
            raise RuntimeError("no parent")
        parent_lines = [
            entry.message for entry in await executions.get_current_logs(parent, count=1000)
        ]
        visible = [e.execution_id async for page in executions.pages(page_size=1000) for e in page]
        seen: Any = None
        if peek is not None:
            try:
                seen = (await executions.get(peek)).status
            except ExecutionsError as e:
                seen = e.kind if e.kind in ("not-found", "permission-denied") else "other"
        return {
            "parent": parent,
            "parent_lines": parent_lines,
            "visible": visible,
            "caller": context.caller().user_id,
            "peek": seen,
        }
    if role == "fail":
        raise RuntimeError("the child gave up")
    raise ValueError(f"no role {role!r}")
