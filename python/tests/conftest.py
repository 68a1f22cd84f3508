"""A stand-in host for the unit tests: records the calls, answers from fixtures.

The pure parts of the package (parsing, mapping, paging, logging, the entry point) are tested
here against it; the package against the real host is tested by the Rust integration tests,
which build workflows with bifrost-build and run them in the runner.
"""

from __future__ import annotations

import enum
from datetime import datetime
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from bifrost import _host


class WitStatus(enum.Enum):
    """The bindings' enum, as componentize-py generates it."""

    SCHEDULED = 0
    PENDING = 1
    RUNNING = 2
    SUCCESS = 3
    FAILED = 4
    TIMEOUT = 5
    STUCK = 6
    COMPLETED_WITH_ERRORS = 7
    CANCELLING = 8
    CANCELLED = 9


class WitLevel(enum.Enum):
    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4


def stream_id(text: str) -> SimpleNamespace:
    """A `stream-id` record from `<ms>-<seq>`."""
    ms, seq = text.split("-")
    return SimpleNamespace(milliseconds=int(ms), sequence=int(seq))


def when(text: str) -> SimpleNamespace:
    """A `datetime` record from RFC 3339 text."""
    t = datetime.fromisoformat(text)
    return SimpleNamespace(seconds=int(t.timestamp() // 1), nanoseconds=t.microsecond * 1000)


def log_record(**overrides: Any) -> SimpleNamespace:
    fields = dict(
        id=stream_id("1776672000250-0"),
        execution_id="00000000-0000-0000-0000-000000001000",
        level=WitLevel.WARNING,
        message="line 0",
        metadata='{"i": 0}',
        timestamp=when("2026-04-20T08:00:00.250000Z"),
    )
    fields.update(overrides)
    return SimpleNamespace(**fields)


def execution_record(**overrides: Any) -> SimpleNamespace:
    fields = dict(
        execution_id="00000000-0000-0000-0000-000000001000",
        workflow_name="sync",
        org_id="00000000-0000-0000-0000-00000000000a",
        form_id=None,
        executed_by="00000000-0000-0000-0000-000000000001",
        executed_by_name="Ada",
        status=WitStatus.COMPLETED_WITH_ERRORS,
        input_data='{"n": 1, "tags": ["a"]}',
        result='{"ok": true}',
        result_type="json",
        error_message=None,
        duration_ms=1500,
        started_at=when("2026-04-20T08:00:00.250000Z"),
        completed_at=when("2026-04-20T08:00:01.750000Z"),
        created_at=when("2026-04-20T08:00:00.250000Z"),
        logs=None,
        variables='{"attempt": 2}',
        session_id="session-1",
        peak_memory_bytes=1048576,
        cpu_total_seconds=0.25,
        log_lines_dropped=None,
        parent_execution_id=None,
    )
    fields.update(overrides)
    return SimpleNamespace(**fields)


@dataclass
class FakeHost:
    """Answers from `pages` (list of (records, next_cursor)) and `logs`; raises `error`."""

    pages: list[tuple[list[Any], str | None]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)
    record: Any = None
    error: Exception | None = None
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    lines: list[tuple[Any, str, str | None]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    current: str | None = "00000000-0000-0000-0000-00000000c0de"
    parent: str | None = None
    children: dict[str, Any] = field(default_factory=dict)
    """Child records by id, for `wait`; `execute` answers `record`."""
    deployed: list[Any] = field(default_factory=list)

    def _answer(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.error is not None:
            raise self.error

    def list_page(self, workflow_name, status, start_date, end_date, limit, cursor):  # type: ignore[no-untyped-def]
        self._answer("list_page", workflow_name, status, start_date, end_date, limit, cursor)
        index = 0 if cursor is None else int(cursor)
        return self.pages[index]

    def list(self, workflow_name, status, start_date, end_date, limit):  # type: ignore[no-untyped-def]
        self._answer("list", workflow_name, status, start_date, end_date, limit)
        return self.pages[0][0] if self.pages else []

    def get(self, execution_id: str) -> Any:
        self._answer("get", execution_id)
        return self.record

    def get_current_logs(self, execution_id, start, count):  # type: ignore[no-untyped-def]
        self._answer("get_current_logs", execution_id, start, count)
        first = start or (0, 0)
        chosen = [r for r in self.logs if (r.id.milliseconds, r.id.sequence) >= first]
        return chosen[:count]

    def log(self, level, message, metadata):  # type: ignore[no-untyped-def]
        self._answer("log", level, message, metadata)
        self.lines.append((level, message, metadata))

    def execution_id(self) -> str | None:
        return self.current

    def workflow_name(self) -> str | None:
        return "probe" if self.current else None

    def caller(self) -> Any:
        return SimpleNamespace(user_id="u1", user_name="Ada", org_id=None, is_platform_admin=False)

    def set_variable(self, name: str, value: str) -> None:
        self._answer("set_variable", name, value)
        self.variables[name] = value

    def parent_execution_id(self) -> str | None:
        return self.parent

    def execute(self, workflow_name: str, input: str) -> Any:
        self._answer("execute", workflow_name, input)
        return self.record

    def start(self, workflow_name: str, input: str) -> str:
        self._answer("start", workflow_name, input)
        return f"child-{len(self.calls)}"

    def wait(self, execution_id: str, timeout_ms: int | None) -> Any:
        self._answer("wait", execution_id, timeout_ms)
        return self.children[execution_id]

    def workflows(self) -> list[Any]:
        self._answer("workflows")
        return self.deployed


@pytest.fixture
def host() -> Any:
    fake = FakeHost()
    _host.install(fake)
    yield fake
    _host.install(None)
