"""Query execution history and read execution logs, with the caller's visibility.

The reference SDK's module, with its signatures and defaults::

    from bifrost import executions

    recent = await executions.list(limit=10)
    failed_today = await executions.list(status="Failed", start_date="2026-04-25")
    detail = await executions.get(recent[0].execution_id)
    print(detail.status, detail.duration_ms)
    logs = await executions.get_current_logs()
    for entry in logs:
        print(f"[{entry.level}] {entry.message}")

and two async iterators for what the reference leaves to its users: `pages` walks every
matching execution a page at a time through the host's cursor, `log_entries` reads every log
line of an execution with no gap and no duplicate.

A platform admin sees every execution of their organisation (all of them if they have
none); any other user sees only the executions they started in their organisation. The host
decides this from the identity it bound to the workflow's instance: no argument here changes
it.

Errors are `bifrost.errors.ExecutionsError`s: `ValueError` when an execution is not found,
`PermissionError` when it belongs to someone else, `RuntimeError` when the call needs the
current execution and there is none, as the reference documents (see `bifrost.errors`).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime

from . import _host
from ._dates import date_bound
from ._streamid import parse_start, start_error, successor
from .errors import HostError, InvalidArgument
from .models import (
    ExecutionLog,
    ExecutionStatus,
    UnknownStatus,
    WorkflowExecution,
    execution_from_record,
    log_from_record,
)

__all__ = ["list", "get", "get_current_logs", "pages", "log_entries"]

_U32_MAX = 2**32 - 1
_MAX_LOG_COUNT = 1000

DateBound = str | date | datetime | None


async def list(
    workflow_name: str | None = None,
    status: str | None = None,
    start_date: DateBound = None,
    end_date: DateBound = None,
    limit: int = 50,
) -> builtins.list[WorkflowExecution]:
    """Executions matching every given filter, newest first (by `started_at`, then by id).

    - `workflow_name`: only this workflow's executions.
    - `status`: a status name, tolerant as `ExecutionStatus.parse` (`"Failed"`, `"failed"`,
      `"Completed"` for `Success`); an unknown name raises `InvalidArgument` naming `status`.
    - `start_date`, `end_date`: inclusive ISO-8601 bounds on `started_at`: a date
      (`"2026-04-25"`, that whole day in UTC) or a date-time (with an offset it is converted
      to UTC, without one UTC is assumed); a `date` or `datetime` works too.
    - `limit`: at most this many (default 50; above 1000 means 1000; below 1 is an error).
    """
    filters = _filters(workflow_name, status, start_date, end_date, limit, "limit")
    records = _host.current().list(*filters)
    return [execution_from_record(r) for r in records]


async def pages(
    workflow_name: str | None = None,
    status: str | None = None,
    start_date: DateBound = None,
    end_date: DateBound = None,
    page_size: int = 50,
) -> AsyncIterator[builtins.list[WorkflowExecution]]:
    """Every matching execution, newest first, a page of at most `page_size` at a time::

        async for page in executions.pages(workflow_name="sync", page_size=200):
            for execution in page:
                ...

    The filters are those of `list`. Empty pages are skipped, so no match yields no page;
    an error is raised where it happens and ends the iteration.
    """
    _page_size(page_size)
    filters = _filters(workflow_name, status, start_date, end_date, page_size, "page_size")
    host = _host.current()
    cursor: str | None = None
    while True:
        records, next_cursor = host.list_page(*filters, cursor)
        if next_cursor is not None and next_cursor == cursor:
            raise HostError("the host returned the same page cursor twice")
        if records:
            yield [execution_from_record(r) for r in records]
        if next_cursor is None:
            return
        cursor = next_cursor


async def get(execution_id: str | uuid.UUID) -> WorkflowExecution:
    """One execution by id, with its log entries once it has ended.

    Raises `ExecutionNotFound` (a `ValueError`) if no execution has this id,
    `ExecutionAccessDenied` (a `PermissionError`) if it belongs to someone else, and
    `InvalidArgument` naming `execution_id` if the id is not a UUID.
    """
    record = _host.current().get(_execution_id(execution_id))
    return execution_from_record(record)


async def get_current_logs(
    execution_id: str | uuid.UUID | None = None,
    start: str = "0",
    count: int = 100,
) -> builtins.list[ExecutionLog]:
    """Log entries of an execution, oldest first, from stream id `start` inclusive.

    - `execution_id`: defaults to the current execution; outside one that raises
      `NoExecutionContext` (a `RuntimeError`).
    - `start`: a stream id `<ms>-<seq>`, `<ms>`, or `"0"` / `"-"` for the beginning.
    - `count`: at most this many (default 100; above 1000 means 1000; below 1 is an error).

    The same entries, ids and order while the execution runs (live stream) and after it
    ended (logs in the database).
    """
    first = _start(start)
    records = _host.current().get_current_logs(
        None if execution_id is None else _execution_id(execution_id),
        first,
        _count(count, "count"),
    )
    return [log_from_record(r) for r in records]


async def log_entries(
    execution_id: str | uuid.UUID | None = None,
    start: str = "0",
    page_size: int = 100,
) -> AsyncIterator[ExecutionLog]:
    """Every log entry of an execution from `start`, oldest first, read `page_size` at a time,
    with no gap and no duplicate even while the execution writes or its logs move to the
    database::

        async for entry in executions.log_entries():
            print(entry.id, entry.message)

    It ends at the last entry written so far; iterate again to read on from there.
    """
    first = _start(start)
    host = _host.current()
    target = None if execution_id is None else _execution_id(execution_id)
    count = min(_page_size(page_size), _MAX_LOG_COUNT)
    last: tuple[int, int] | None = None
    next_start: tuple[int, int] | None = first
    while next_start is not None:
        fresh = []
        for record in host.get_current_logs(target, next_start, count):
            entry_id = (record.id.milliseconds, record.id.sequence)
            if last is None or entry_id > last:
                fresh.append((entry_id, record))
        if not fresh:
            return
        for entry_id, record in fresh:
            last = entry_id
            yield log_from_record(record)
        next_start = successor(entry_id)


def _filters(
    workflow_name: str | None,
    status: str | ExecutionStatus | None,
    start_date: DateBound,
    end_date: DateBound,
    limit: int,
    limit_name: str,
) -> tuple[str | None, ExecutionStatus | None, str | None, str | None, int]:
    if workflow_name is not None and not isinstance(workflow_name, str):
        raise TypeError(f"workflow_name must be a str, not {type(workflow_name).__name__}")
    parsed: ExecutionStatus | None = None
    if status is not None:
        try:
            parsed = ExecutionStatus.parse(status)
        except UnknownStatus as e:
            raise InvalidArgument("status", str(e)) from None
    return (
        workflow_name,
        parsed,
        date_bound(start_date, "start_date"),
        date_bound(end_date, "end_date"),
        _count(limit, limit_name),
    )


def _count(value: int, parameter: str) -> int:
    """A limit or count for the host: an `int`; 0 goes to the host, which says why it is
    refused; a negative one is refused here with the same words; above what the host takes
    means its maximum."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{parameter} must be an int, not {type(value).__name__}")
    if value < 0:
        raise InvalidArgument(parameter, "must be at least 1")
    return min(value, _U32_MAX)


def _page_size(value: int) -> int:
    """A page size: at least 1 (refused here, naming `page_size`, rather than by the host
    naming `limit` or `count`)."""
    value = _count(value, "page_size")
    if value < 1:
        raise InvalidArgument("page_size", "must be at least 1")
    return value


def _execution_id(value: str | uuid.UUID) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"execution_id must be a str or UUID, not {type(value).__name__}")
    return value


def _start(start: str) -> tuple[int, int]:
    """A `start` argument as the host's `stream-id` record takes it, checked by the host's
    rules and refused in its words."""
    if not isinstance(start, str):
        raise TypeError(f"start must be a str (a stream id), not {type(start).__name__}")
    parsed = parse_start(start)
    if parsed is None:
        raise InvalidArgument("start", start_error(start))
    return parsed
