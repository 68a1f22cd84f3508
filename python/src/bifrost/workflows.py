"""Start deployed workflows from a workflow, with the reference SDK's names::

    from bifrost import workflows

    result = await workflows.execute("process_order", {"order_id": "12345"})
    deployed = await workflows.list()
    child = await workflows.get(execution_id)

and `start` / `wait` for children that run side by side::

    ids = [await workflows.start("sync_region", {"region": r}) for r in ("eu", "us")]
    records = [await workflows.wait(i) for i in ids]

Unlike the reference, where a sub-workflow is a function call inside its parent, every child
here is an execution of its own: its own id, its record (whose `parent_execution_id` is this
execution), its own logs and limits. It runs as this workflow's caller (same user,
organisation and admin flag; never more), so it sees what the parent sees; in particular it
can read the parent's log so far with
`executions.get_current_logs(context.parent_execution_id())`.

The host bounds the depth of the chain of parents and the children of one execution
(`LimitReached`); a child's deadline is never later than its parent's, and a parent that
ends, however it ends, leaves no child running.

Errors: `WorkflowNotFound` (a `ValueError`, as in the reference) for a workflow that is not
deployed; `ChildExecutionFailed`, naming the child's id, status and error, when `execute`'s
child did not succeed; otherwise the errors of `bifrost.errors`.
"""

from __future__ import annotations

import builtins
import math
import uuid
from typing import Any

from . import _host, executions
from ._json import dumps
from .errors import ChildExecutionFailed, ExecutionNotFound, WorkflowNotFound
from .models import (
    ExecutionStatus,
    WorkflowExecution,
    WorkflowInfo,
    execution_from_record,
    workflow_info_from_record,
)

__all__ = ["execute", "start", "wait", "list", "get"]


async def execute(workflow_name: str, parameters: Any = None) -> Any:
    """Run the deployed workflow `workflow_name` with `parameters` (any JSON-serialisable
    value; `None` is `{}`, no parameters) as a child of this execution, wait for it, and
    return its result.

    Raises `ChildExecutionFailed` (its `execution` is the child's whole record) when the
    child failed, timed out or was cancelled; `WorkflowNotFound` (a `ValueError`) when no
    workflow of that name is deployed; `LimitReached` past the depth or children limit;
    `NoExecutionContext` outside an execution.
    """
    name = _name(workflow_name)
    record = _named(name, lambda host: host.execute(name, _input(parameters)))
    child = execution_from_record(record)
    if child.status != ExecutionStatus.SUCCESS:
        raise ChildExecutionFailed(child)
    return child.result


async def start(workflow_name: str, parameters: Any = None) -> str:
    """Start the deployed workflow `workflow_name` as `execute` does, without waiting;
    return the child's execution id (`wait` for it). Raises as `execute` does, but for
    `ChildExecutionFailed`."""
    name = _name(workflow_name)
    return str(_named(name, lambda host: host.start(name, _input(parameters))))


async def wait(
    execution_id: str | uuid.UUID, timeout: float | None = None
) -> WorkflowExecution:
    """Wait for a child this execution started, at most `timeout` seconds (`None`: until it
    ends), and return its record whatever its status: still `Pending` or `Running` if the
    timeout passed first. Raises `ExecutionNotFound` (a `ValueError`) for an id that is no
    child of this execution."""
    target = executions._execution_id(execution_id)
    if timeout is None:
        timeout_ms = None
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
        raise TypeError(f"timeout is a number of seconds, at least 0, not {timeout!r}")
    else:
        timeout_ms = None if math.isinf(timeout) else min(int(timeout * 1000), 2**64 - 1)
    return execution_from_record(_host.current().wait(target, timeout_ms))


async def list() -> builtins.list[WorkflowInfo]:
    """The deployed workflows, by name, with their current version."""
    return [workflow_info_from_record(r) for r in _host.current().workflows()]


async def get(execution_id: str | uuid.UUID) -> WorkflowExecution:
    """An execution by id: `executions.get`, for a child or any execution the caller may
    see."""
    return await executions.get(execution_id)


def _name(workflow_name: str) -> str:
    if not isinstance(workflow_name, str):
        raise TypeError(f"workflow_name must be a str, not {type(workflow_name).__name__}")
    return workflow_name


def _input(parameters: Any) -> str:
    try:
        return dumps({} if parameters is None else parameters)
    except (TypeError, ValueError) as e:
        raise TypeError(f"parameters are not JSON-serialisable: {e}") from None


def _named(workflow_name: str, call: Any) -> Any:
    """`call(host)`, with the host's `not-found` (for `execute` and `start`, the workflow)
    raised as `WorkflowNotFound`."""
    try:
        return call(_host.current())
    except ExecutionNotFound:
        raise WorkflowNotFound(workflow_name) from None
