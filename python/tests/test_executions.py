"""The executions functions against a stand-in host: arguments, defaults, paging, errors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from bifrost import (
    BackendUnavailable,
    ExecutionAccessDenied,
    ExecutionNotFound,
    ExecutionsError,
    ExecutionStatus,
    HostError,
    InvalidArgument,
    NoExecutionContext,
    TooLarge,
    _host,
    executions,
)
from bifrost.errors import from_host
from conftest import execution_record, log_record, stream_id


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


def test_list_passes_the_reference_defaults(host: Any) -> None:
    host.pages = [([execution_record()], None)]
    found = run(executions.list())
    assert [e.workflow_name for e in found] == ["sync"]
    assert host.calls == [("list", (None, None, None, None, 50))]


def test_list_passes_every_filter(host: Any) -> None:
    run(executions.list(workflow_name="sync", status="Completed", start_date="2026-04-25", end_date=date(2026, 4, 26), limit=10))
    assert host.calls == [("list", ("sync", ExecutionStatus.SUCCESS, "2026-04-25", "2026-04-26", 10))]


def test_limits_zero_goes_to_the_host_negative_is_refused_huge_is_capped(host: Any) -> None:
    run(executions.list(limit=0))
    run(executions.list(limit=10**12))
    assert [c[1][4] for c in host.calls] == [0, 2**32 - 1]
    with pytest.raises(InvalidArgument) as e:
        run(executions.list(limit=-1))
    assert (e.value.parameter, str(e.value)) == ("limit", "invalid argument `limit`: must be at least 1")
    with pytest.raises(TypeError):
        run(executions.list(limit="10"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        run(executions.list(limit=True))


def test_an_unknown_status_is_an_invalid_argument_naming_status(host: Any) -> None:
    with pytest.raises(InvalidArgument) as e:
        run(executions.list(status="Done"))
    assert e.value.parameter == "status"
    assert isinstance(e.value, ValueError) and isinstance(e.value, ExecutionsError)
    assert host.calls == []


def test_pages_follow_the_cursor_and_skip_empty_pages(host: Any) -> None:
    a, b, c = (execution_record(execution_id=str(uuid.UUID(int=n))) for n in (1, 2, 3))
    host.pages = [([a, b], "1"), ([], "2"), ([c], None)]
    pages = run(collect(executions.pages(status="failed", page_size=2)))
    assert [[e.execution_id for e in p] for p in pages] == [[a.execution_id, b.execution_id], [c.execution_id]]
    assert [call[1][-1] for call in host.calls] == [None, "1", "2"]
    assert all(call[1][1] is ExecutionStatus.FAILED and call[1][4] == 2 for call in host.calls)


def test_pages_stop_on_a_cursor_that_does_not_move(host: Any) -> None:
    host.pages = [([execution_record()], "1"), ([execution_record()], "1")]
    with pytest.raises(HostError, match="same page cursor twice"):
        run(collect(executions.pages()))


def test_page_size_below_one_is_refused_naming_it(host: Any) -> None:
    for bad in (0, -5):
        with pytest.raises(InvalidArgument) as e:
            run(collect(executions.pages(page_size=bad)))
        assert e.value.parameter == "page_size"
        with pytest.raises(InvalidArgument):
            run(collect(executions.log_entries(page_size=bad)))
    assert host.calls == []


def test_get_accepts_text_and_uuids(host: Any) -> None:
    host.record = execution_record()
    detail = run(executions.get(uuid.UUID(int=0x1000)))
    assert detail.status == "CompletedWithErrors" and detail.duration_ms == 1500
    assert host.calls == [("get", ("00000000-0000-0000-0000-000000001000",))]
    with pytest.raises(TypeError):
        run(executions.get(42))  # type: ignore[arg-type]


def test_get_current_logs_passes_the_reference_defaults(host: Any) -> None:
    host.logs = [log_record(id=stream_id(f"5-{i}"), message=f"line {i}") for i in range(3)]
    logs = run(executions.get_current_logs())
    assert [f"[{e.level}] {e.message}" for e in logs] == ["[WARNING] line 0", "[WARNING] line 1", "[WARNING] line 2"]
    run(executions.get_current_logs("00000000-0000-0000-0000-000000001000", start="5-1", count=1))
    assert host.calls == [
        ("get_current_logs", (None, (0, 0), 100)),
        ("get_current_logs", ("00000000-0000-0000-0000-000000001000", (5, 1), 1)),
    ]
    assert logs[0].id == "5-0"
    with pytest.raises(TypeError):
        run(executions.get_current_logs(start=0))  # type: ignore[arg-type]


def test_a_start_is_checked_by_the_hosts_rules_in_its_words(host: Any) -> None:
    for text, first in [("-", (0, 0)), (" 7 ", (7, 0)), ("7-2", (7, 2)), ("0", (0, 0))]:
        host.calls.clear()
        run(executions.get_current_logs(start=text))
        assert host.calls == [("get_current_logs", (None, first, 100))]
    for bad in ["soon", "1-2-3", "+5", "18446744073709551616-0", 'a"b\\n']:
        with pytest.raises(InvalidArgument) as caught:
            run(executions.get_current_logs(start=bad))
        assert caught.value.parameter == "start"
    assert str(caught.value) == (
        'invalid argument `start`: "a\\"b\\\\n" is not a stream id (expected '
        "<milliseconds>-<sequence>, <milliseconds>, or 0 for the beginning)"
    )


def test_log_entries_read_every_entry_once(host: Any) -> None:
    host.logs = [log_record(id=stream_id(f"{7 + i // 3}-{i % 3}"), message=f"line {i}") for i in range(10)]
    entries = run(collect(executions.log_entries(page_size=4)))
    assert [e.message for e in entries] == [f"line {i}" for i in range(10)]
    assert [c[1][1] for c in host.calls] == [(0, 0), (8, 1), (9, 2), (10, 1)]
    # Another pass from the last id finds nothing new.
    host.calls.clear()
    assert run(collect(executions.log_entries(start="10-1", page_size=4))) == []


def _wit_error(case: str, value: Any = None) -> Any:
    cls = type(f"Error_{case}", (), {})
    error = cls()
    error.value = value
    return error


@pytest.mark.parametrize(
    ("case", "value", "cls", "also", "message"),
    [
        ("NotFound", "e1", ExecutionNotFound, ValueError, "execution e1 not found"),
        ("NotFound", "", ExecutionNotFound, ValueError, "execution not found"),
        (
            "PermissionDenied",
            "e2",
            ExecutionAccessDenied,
            PermissionError,
            "permission denied: execution e2 belongs to someone else",
        ),
        (
            "InvalidArgument",
            SimpleNamespace(parameter="start_date", reason="not an ISO-8601 date"),
            InvalidArgument,
            ValueError,
            "invalid argument `start_date`: not an ISO-8601 date",
        ),
        (
            "NoExecutionContext",
            None,
            NoExecutionContext,
            RuntimeError,
            "no execution context: the call needs the current execution, and the workflow "
            "runs outside one (pass an execution id)",
        ),
        ("Unavailable", "redis down", BackendUnavailable, ExecutionsError, "backend unavailable: redis down"),
        ("TooLarge", "line of 2 MiB", TooLarge, ExecutionsError, "too large: line of 2 MiB"),
        ("Internal", "bug", HostError, ExecutionsError, "internal error: bug"),
        ("Novel", "x", HostError, ExecutionsError, None),
    ],
)
def test_host_errors_map_to_the_reference_exceptions(
    host: Any, case: str, value: Any, cls: type, also: type, message: str | None
) -> None:
    error = from_host(_wit_error(case, value))
    assert isinstance(error, cls) and isinstance(error, also) and isinstance(error, ExecutionsError)
    if message is not None:
        assert str(error) == message
    assert error.retryable == (case == "Unavailable")
    host.error = error
    with pytest.raises(cls):
        run(executions.get("e1"))


def test_outside_a_component_calls_raise_runtime_error() -> None:
    _host.install(None)
    with pytest.raises(RuntimeError, match="outside a workflow component"):
        run(executions.get_current_logs())
    with pytest.raises(NoExecutionContext):
        run(executions.list())
