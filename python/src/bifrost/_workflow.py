"""The workflow entry point, in the platform's style::

    from bifrost import executions, workflow

    @workflow
    async def report(days: int = 1):
        failed = await executions.list(status="Failed", limit=100)
        return {"failed": len(failed)}

The decorated function (an `async def`, or a plain `def`) is the workflow. The execution's
input is a JSON object whose keys are its keyword arguments; what it returns, JSON-serialised,
is the execution's result (`datetime`, `date`, `UUID`, enums and dataclasses are converted).
An exception it does not catch ends the execution `Failed` with the error message
`ExceptionType: message`, and its traceback is logged as one `ERROR` line.

A component holds one workflow: `bifrost-build` builds the file that defines it.
`@workflow(name=..., description=...)` is accepted too; the name and description are kept on
the function (`__bifrost_workflow__`) for tools, and the runner names executions by the name
the workflow is deployed or run under.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar, overload

from . import _loop
from ._json import dumps

__all__ = ["workflow", "registered", "Failure", "run"]

F = TypeVar("F", bound=Callable[..., Any])

_registered: Callable[..., Any] | None = None

_log = logging.getLogger("bifrost")


@overload
def workflow(function: F, /) -> F: ...


@overload
def workflow(
    *, name: str | None = None, description: str | None = None
) -> Callable[[F], F]: ...


def workflow(
    function: Any = None, /, *, name: str | None = None, description: str | None = None
) -> Any:
    """Make `function` the component's workflow (see the module's documentation)."""

    def register(f: F) -> F:
        global _registered
        if not callable(f):
            raise TypeError(f"@workflow decorates a function, not {type(f).__name__}")
        if _registered is not None and _registered is not f:
            raise RuntimeError(
                f"one workflow per component: {_qualname(_registered)} is already the "
                f"workflow, so {_qualname(f)} cannot be"
            )
        f.__bifrost_workflow__ = {  # type: ignore[attr-defined]
            "name": name or f.__name__,
            "description": description or inspect.getdoc(f),
        }
        _registered = f
        return f

    return register(function) if function is not None else register


def registered() -> Callable[..., Any] | None:
    """The function decorated with `@workflow`, if any."""
    return _registered


class Failure(Exception):
    """The workflow failed; `message` becomes the execution's error message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def run(input_text: str) -> str:
    """Run the registered workflow on the execution's input (JSON text); the result as JSON
    text, or `Failure` with the error message."""
    function = _registered
    if function is None:
        raise Failure(
            "no workflow: decorate the entry function with @workflow (from bifrost import workflow)"
        )
    try:
        arguments = json.loads(input_text) if input_text.strip() else {}
    except ValueError as e:
        raise Failure(f"the input is not JSON: {e}") from None
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise Failure(
            "the input must be a JSON object whose keys are the workflow's keyword "
            f"arguments, not {_json_type(arguments)}"
        )
    try:
        outcome = function(**arguments)
        if inspect.isawaitable(outcome):
            outcome = _loop.run(_await(outcome))
    except BaseException as e:  # the workflow's boundary: SystemExit too ends it Failed
        _log.error("the workflow raised %s", type(e).__name__, exc_info=e)
        raise Failure(describe(e)) from None
    try:
        return dumps(outcome)
    except (TypeError, ValueError) as e:
        raise Failure(f"{type(e).__name__}: the workflow's result is not JSON-serialisable: {e}") from None


def describe(error: BaseException) -> str:
    """`ExceptionType: message`, or the type alone when the message is empty."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _qualname(f: Callable[..., Any]) -> str:
    return f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', repr(f))}"


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
