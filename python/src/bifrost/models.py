"""The values the executions module returns, with the reference SDK's field names and types.

`WorkflowExecution` and `ExecutionLog` are dataclasses. Statuses and levels are string enums
(`ExecutionStatus.SUCCESS == "Success"`, `str(LogLevel.INFO) == "INFO"`), so code written
for the reference SDK, which documents them as `str`, compares and prints them as text.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from . import _streamid
from ._quote import rust_debug
from ._dates import from_record, record_text


class ExecutionStatus(StrEnum):
    """The lifecycle state of an execution; the value is the platform's name."""

    SCHEDULED = "Scheduled"
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    TIMEOUT = "Timeout"
    STUCK = "Stuck"
    COMPLETED_WITH_ERRORS = "CompletedWithErrors"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"

    @classmethod
    def parse(cls, text: str | ExecutionStatus) -> ExecutionStatus:
        """A status by name, as tolerant as the Rust crate.

        The platform's names case-insensitively, also with `_`, `-` or spaces between words
        (`completed_with_errors`), and `"Completed"` as another name of `Success` (the
        reference SDK's documentation filters with `status="Completed"`, but the platform
        has no such status). Anything else raises `UnknownStatus`, a `ValueError` whose
        message lists the valid names.
        """
        if isinstance(text, ExecutionStatus):
            return text
        if not isinstance(text, str):
            raise TypeError(f"a status is a str, not {type(text).__name__}")
        found = _STATUS_BY_KEY.get(text.translate(_SEPARATORS).lower())
        if found is not None:
            return found
        raise UnknownStatus(text)

    @property
    def is_final(self) -> bool:
        """Whether the execution has ended."""
        return self not in _LIVE_OR_WAITING


_SEPARATORS = str.maketrans("", "", "_- \t")
# Every name `parse` accepts, without separators and in lower case: one lookup per row.
_STATUS_BY_KEY = {s.value.lower(): s for s in ExecutionStatus} | {"completed": ExecutionStatus.SUCCESS}

_LIVE_OR_WAITING = frozenset(
    {
        ExecutionStatus.SCHEDULED,
        ExecutionStatus.PENDING,
        ExecutionStatus.RUNNING,
        ExecutionStatus.CANCELLING,
    }
)


class UnknownStatus(ValueError):
    """A text that names no execution status."""

    def __init__(self, text: str) -> None:
        self.text = text
        names = ", ".join(s.value for s in ExecutionStatus)
        super().__init__(
            f"unknown execution status {rust_debug(text)}; expected one of {names} "
            "(or Completed, another name of Success)"
        )


class LogLevel(StrEnum):
    """Severity of a log line, in upper case as the platform stores it."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"

    @classmethod
    def parse(cls, text: str | LogLevel) -> LogLevel:
        """A level by name, case-insensitively; `WARN` too."""
        if isinstance(text, LogLevel):
            return text
        if not isinstance(text, str):
            raise TypeError(f"a log level is a str, not {type(text).__name__}")
        key = text.strip().upper()
        if key == "WARN":
            return cls.WARNING
        try:
            return cls(key)
        except ValueError:
            raise ValueError(
                f"unknown log level {rust_debug(text)}; expected one of "
                + ", ".join(level.value for level in cls)
            ) from None

    @classmethod
    def from_python(cls, levelno: int) -> LogLevel:
        """The level of a `logging` record: `logging.WARNING` is `WARNING`, and a custom
        level counts as the nearest standard level at or below it (below `DEBUG`, `DEBUG`)."""
        for threshold, level in _PYTHON_LEVELS:
            if levelno >= threshold:
                return level
        return cls.DEBUG


_PYTHON_LEVELS = (
    (50, LogLevel.CRITICAL),
    (40, LogLevel.ERROR),
    (30, LogLevel.WARNING),
    (20, LogLevel.INFO),
)


def json_or_text(text: str) -> Any:
    """A JSON payload from the host; text that is not valid JSON stays the raw text, so that a
    malformed payload never makes a query fail (as in the Rust crate)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class ExecutionLog:
    """One log line of an execution."""

    id: str
    """Stream entry id, `<milliseconds>-<sequence>`; increases within an execution."""
    execution_id: str
    """The execution that wrote the line."""
    level: LogLevel
    """`"DEBUG"`, `"INFO"`, `"WARNING"`, `"ERROR"` or `"CRITICAL"`."""
    message: str
    metadata: dict[str, Any] | None
    """Structured data attached to the line, if any."""
    timestamp: str
    """When the line was written: ISO-8601 text in UTC (`2026-04-25T08:30:00.000000Z`)."""

    def to_dict(self) -> dict[str, Any]:
        """The entry as a plain dict (the form of `WorkflowExecution.logs`)."""
        return {
            "id": self.id,
            "execution_id": self.execution_id,
            "level": self.level,
            "message": self.message,
            "metadata": self.metadata,
            "timestamp": self.timestamp,
        }


@dataclass
class WorkflowExecution:
    """One execution, with the reference SDK's fields."""

    execution_id: str
    workflow_name: str
    org_id: str | None
    form_id: str | None
    """The form that started the execution, if a form did."""
    executed_by: str
    """User id of whoever started the execution."""
    executed_by_name: str
    status: ExecutionStatus
    """The platform's status name, e.g. `"Success"` (a `str`)."""
    input_data: dict[str, Any]
    """The input parameters."""
    result: Any
    """The result, once the execution has one; `None` otherwise."""
    result_type: str | None
    """A hint for rendering the result: `json`, `text` or `html`."""
    error_message: str | None
    duration_ms: int | None
    started_at: datetime | None
    """When the execution started (aware, UTC)."""
    completed_at: datetime | None
    created_at: datetime
    """When the execution was recorded."""
    logs: builtins.list[dict[str, Any]] | None
    """Captured log entries as dicts (keys of `ExecutionLog`): filled by `get` once the
    execution has ended (at most 1000, oldest first); `None` from `list` and while it runs
    (read those with `get_current_logs`)."""
    variables: dict[str, Any] | None
    """Runtime variables; platform admins only."""
    session_id: str | None
    peak_memory_bytes: int | None
    """Peak linear memory; platform admins only."""
    cpu_total_seconds: float | None
    """CPU time spent in the workflow; platform admins only."""
    log_lines_dropped: int | None = None
    """Log lines the host's log caps counted but did not keep; `None` when every line was
    kept, and while the execution runs."""
    parent_execution_id: str | None = None
    """The execution that started this one with `bifrost.workflows`; `None` for one started
    from outside."""


@dataclass(frozen=True)
class WorkflowInfo:
    """A deployed workflow a workflow may start (`bifrost.workflows.list`)."""

    name: str
    version: str
    """The deployed version: the SHA-256 of its component, lowercase hex."""
    deployed_at: datetime
    """When that version was deployed (aware, UTC)."""


def workflow_info_from_record(record: Any) -> WorkflowInfo:
    """A `WorkflowInfo` from the host's record (the generated binding type)."""
    return WorkflowInfo(
        name=record.name, version=record.version, deployed_at=from_record(record.deployed_at)
    )


def log_from_record(record: Any) -> ExecutionLog:
    """An `ExecutionLog` from the host's record (the generated binding type)."""
    metadata = record.metadata
    return ExecutionLog(
        id=_streamid.text(record.id),
        execution_id=record.execution_id,
        level=LogLevel.parse(record.level.name),
        message=record.message,
        metadata=None if metadata is None else json_or_text(metadata),
        timestamp=record_text(record.timestamp),
    )


def execution_from_record(record: Any) -> WorkflowExecution:
    """A `WorkflowExecution` from the host's record (the generated binding type)."""
    return WorkflowExecution(
        execution_id=record.execution_id,
        workflow_name=record.workflow_name,
        org_id=record.org_id,
        form_id=record.form_id,
        executed_by=record.executed_by,
        executed_by_name=record.executed_by_name,
        status=ExecutionStatus.parse(record.status.name),
        input_data=json_or_text(record.input_data),
        result=None if record.result is None else json_or_text(record.result),
        result_type=record.result_type,
        error_message=record.error_message,
        duration_ms=record.duration_ms,
        started_at=_optional_time(record.started_at),
        completed_at=_optional_time(record.completed_at),
        created_at=from_record(record.created_at),
        logs=None
        if record.logs is None
        else [log_from_record(entry).to_dict() for entry in record.logs],
        variables=None if record.variables is None else json_or_text(record.variables),
        session_id=record.session_id,
        peak_memory_bytes=record.peak_memory_bytes,
        cpu_total_seconds=record.cpu_total_seconds,
        log_lines_dropped=record.log_lines_dropped,
        parent_execution_id=getattr(record, "parent_execution_id", None),
    )


def _optional_time(record: Any) -> datetime | None:
    return None if record is None else from_record(record)
