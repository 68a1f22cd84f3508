"""The host's imports, behind one small interface.

Inside a workflow component the host is the generated bindings of the WIT world
(`wit_world.imports`, made by componentize-py when the workflow is built). Outside one
(plain CPython, e.g. unit tests), there is no host: every call raises `NoExecutionContext`,
a `RuntimeError`, unless a test installed a stand-in with `install`.
"""

from __future__ import annotations

import builtins
import re
from typing import Any, Protocol

from .errors import NoExecutionContext, from_host
from .models import ExecutionStatus, LogLevel


class Host(Protocol):
    """What the package needs from the host; records are the bindings' types."""

    def list_page(
        self,
        workflow_name: str | None,
        status: ExecutionStatus | None,
        start_date: str | None,
        end_date: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> tuple[builtins.list[Any], str | None]: ...

    def list(
        self,
        workflow_name: str | None,
        status: ExecutionStatus | None,
        start_date: str | None,
        end_date: str | None,
        limit: int | None,
    ) -> builtins.list[Any]: ...

    def get(self, execution_id: str) -> Any: ...

    def get_current_logs(
        self, execution_id: str | None, start: tuple[int, int] | None, count: int | None
    ) -> builtins.list[Any]: ...

    def log(self, level: LogLevel, message: str, metadata: str | None) -> None: ...

    def execution_id(self) -> str | None: ...

    def workflow_name(self) -> str | None: ...

    def caller(self) -> Any: ...

    def set_variable(self, name: str, value: str) -> None: ...

    def parent_execution_id(self) -> str | None: ...

    def execute(self, workflow_name: str, input: str) -> Any: ...

    def start(self, workflow_name: str, input: str) -> str: ...

    def wait(self, execution_id: str, timeout_ms: int | None) -> Any: ...

    def workflows(self) -> builtins.list[Any]: ...


_installed: Host | None = None


def install(host: Host | None) -> None:
    """Use `host` for every call (a stand-in for tests); `None` goes back to the bindings."""
    global _installed
    _installed = host


def current() -> Host:
    """The host of this instance."""
    global _installed
    if _installed is None:
        try:
            _installed = WitHost()
        except ImportError as e:
            raise NoExecutionContext(
                "no execution context: this code runs outside a workflow component, where "
                "the Bifrost host answers (build it with `bifrost-build` and run it in the "
                f"runner; {e})"
            ) from None
    return _installed


def _wit_name(status: ExecutionStatus) -> str:
    """`CompletedWithErrors` -> `COMPLETED_WITH_ERRORS`, the bindings' enum member name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", status.value).upper()


class WitHost:
    """The generated bindings, with their `Err` turned into this package's exceptions."""

    def __init__(self) -> None:
        from componentize_py_types import Err
        from wit_world.imports import context, executions, logging, types, workflows

        self._err = Err
        self._workflows = workflows
        self._executions = executions
        self._logging = logging
        self._context = context
        self._types = types

    def _call(self, function: Any, *args: Any) -> Any:
        try:
            return function(*args)
        except self._err as e:
            raise from_host(e.value) from None

    def _filter(
        self,
        workflow_name: str | None,
        status: ExecutionStatus | None,
        start_date: str | None,
        end_date: str | None,
        limit: int | None,
    ) -> Any:
        return self._types.ListFilter(
            workflow_name=workflow_name,
            status=None if status is None else self._types.ExecutionStatus[_wit_name(status)],
            start_date=start_date,
            end_date=end_date,
            limit=limit,
        )

    def list_page(
        self,
        workflow_name: str | None,
        status: ExecutionStatus | None,
        start_date: str | None,
        end_date: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> tuple[builtins.list[Any], str | None]:
        page = self._call(
            self._executions.list_page,
            self._filter(workflow_name, status, start_date, end_date, limit),
            cursor,
        )
        return page.executions, page.next_cursor

    def list(
        self,
        workflow_name: str | None,
        status: ExecutionStatus | None,
        start_date: str | None,
        end_date: str | None,
        limit: int | None,
    ) -> builtins.list[Any]:
        records: builtins.list[Any] = self._call(
            self._executions.list,
            self._filter(workflow_name, status, start_date, end_date, limit),
        )
        return records

    def get(self, execution_id: str) -> Any:
        return self._call(self._executions.get, execution_id)

    def get_current_logs(
        self, execution_id: str | None, start: tuple[int, int] | None, count: int | None
    ) -> builtins.list[Any]:
        first = None if start is None else self._types.StreamId(*start)
        records: builtins.list[Any] = self._call(
            self._executions.get_current_logs, execution_id, first, count
        )
        return records

    def log(self, level: LogLevel, message: str, metadata: str | None) -> None:
        self._call(self._logging.log, self._types.LogLevel[level.value], message, metadata)

    def execution_id(self) -> str | None:
        id: str | None = self._context.execution_id()
        return id

    def workflow_name(self) -> str | None:
        name: str | None = self._context.workflow_name()
        return name

    def caller(self) -> Any:
        return self._context.caller()

    def set_variable(self, name: str, value: str) -> None:
        self._call(self._context.set_variable, name, value)

    def parent_execution_id(self) -> str | None:
        id: str | None = self._context.parent_execution_id()
        return id

    def execute(self, workflow_name: str, input: str) -> Any:
        return self._call(self._workflows.execute, workflow_name, input)

    def start(self, workflow_name: str, input: str) -> str:
        id: str = self._call(self._workflows.start, workflow_name, input)
        return id

    def wait(self, execution_id: str, timeout_ms: int | None) -> Any:
        return self._call(self._workflows.wait, execution_id, timeout_ms)

    def workflows(self) -> builtins.list[Any]:
        records: builtins.list[Any] = self._call(self._workflows.list)
        return records
