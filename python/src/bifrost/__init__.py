"""Bifrost workflows in Python, compiled to WebAssembly components.

The reference SDK's module, with its signatures::

    from bifrost import executions, workflow

    @workflow
    async def main():
        recent = await executions.list(limit=10)
        return {"recent": len(recent)}

- `bifrost.executions`: `list`, `get`, `get_current_logs` (and `pages`, `log_entries`).
- `bifrost.workflows`: `execute`, `list`, `get` (and `start`, `wait`): workflows that start
  workflows, each child an execution of its own.
- `bifrost.workflow`: the entry point decorator.
- `bifrost.context`: the current execution, the caller, runtime variables.
- `bifrost.errors`: the exceptions (`ExecutionsError` and its kinds).
- Python's `logging` writes to the execution's log (`bifrost.handler`); `bifrost.log` writes
  one line directly.

Build a workflow file into a component with `bifrost-build workflow.py`.
"""

from . import context, errors, executions, workflows
from .errors import (
    BackendUnavailable,
    ChildExecutionFailed,
    ExecutionAccessDenied,
    ExecutionNotFound,
    ExecutionsError,
    HostError,
    InvalidArgument,
    LimitReached,
    NoExecutionContext,
    TooLarge,
    WorkflowNotFound,
)
from .handler import ExecutionLogHandler, log
from .models import ExecutionLog, ExecutionStatus, LogLevel, WorkflowExecution, WorkflowInfo
from ._workflow import workflow

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "ChildExecutionFailed",
    "ExecutionAccessDenied",
    "ExecutionLog",
    "ExecutionLogHandler",
    "ExecutionNotFound",
    "ExecutionStatus",
    "ExecutionsError",
    "HostError",
    "InvalidArgument",
    "LimitReached",
    "LogLevel",
    "NoExecutionContext",
    "TooLarge",
    "WorkflowExecution",
    "WorkflowInfo",
    "WorkflowNotFound",
    "context",
    "errors",
    "executions",
    "log",
    "workflow",
    "workflows",
]
