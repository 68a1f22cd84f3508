"""An `asyncio` event loop for a workflow: timers and tasks, no I/O.

A workflow component has no sockets or pipes for a selector to watch (its host calls are
synchronous), so this loop's "selector" only sleeps until the next timer is due.
`asyncio.sleep`, `gather`, `create_task`, `wait_for` and the rest work; awaiting something
that nothing will ever complete raises `RuntimeError` instead of hanging the execution
until its deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Clock:
    """Stands in for the selector: waits `timeout` seconds, reports no I/O event."""

    def select(self, timeout: float | None) -> list[Any]:
        if timeout is None:
            raise RuntimeError(
                "the workflow awaits something that nothing will complete "
                "(no task is ready and no timer is pending)"
            )
        if timeout > 0:
            time.sleep(timeout)
        return []

    def close(self) -> None:
        pass


class WorkflowEventLoop(asyncio.base_events.BaseEventLoop):
    """`BaseEventLoop` with the clock above as its selector."""

    def __init__(self) -> None:
        super().__init__()
        self._selector = _Clock()

    def _process_events(self, event_list: list[Any]) -> None:
        pass

    def _write_to_self(self) -> None:
        pass


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end on a new `WorkflowEventLoop`, as `asyncio.run` would."""
    with asyncio.Runner(loop_factory=WorkflowEventLoop) as runner:
        return runner.run(coroutine)
