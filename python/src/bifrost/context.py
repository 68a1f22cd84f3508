"""The execution this workflow runs in and who runs it, as bound by the host."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import _host
from ._json import dumps

__all__ = [
    "Caller",
    "execution_id",
    "workflow_name",
    "parent_execution_id",
    "caller",
    "set_variable",
]


@dataclass(frozen=True)
class Caller:
    """Who the workflow runs as."""

    user_id: str
    user_name: str
    org_id: str | None
    is_platform_admin: bool


def execution_id() -> str | None:
    """The current execution's id; `None` outside an execution."""
    return _host.current().execution_id()


def workflow_name() -> str | None:
    """The current workflow's name; `None` outside an execution."""
    return _host.current().workflow_name()


def parent_execution_id() -> str | None:
    """The execution that started the current one with `bifrost.workflows`; `None` for an
    execution started from outside, and outside an execution."""
    return _host.current().parent_execution_id()


def caller() -> Caller:
    """Who this workflow runs as."""
    c = _host.current().caller()
    return Caller(
        user_id=c.user_id,
        user_name=c.user_name,
        org_id=c.org_id,
        is_platform_admin=c.is_platform_admin,
    )


def set_variable(name: str, value: Any) -> None:
    """Record a runtime variable on the current execution (any JSON-serialisable value;
    `datetime`, `date`, `UUID` and dataclasses are converted as in a workflow's result).

    Raises `InvalidArgument` naming `name` if the name is empty, `NoExecutionContext`
    outside an execution, `TooLarge` beyond the host's limit.
    """
    if not isinstance(name, str):
        raise TypeError(f"a variable name is a str, not {type(name).__name__}")
    try:
        text = dumps(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"variable {json.dumps(name)} is not JSON-serialisable: {e}") from None
    _host.current().set_variable(name, text)
