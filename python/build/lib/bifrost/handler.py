"""Python's `logging`, into the execution's log.

A built workflow has an `ExecutionLogHandler` on the root logger, at level `DEBUG` (as the
Rust crate records every level), so that::

    logging.info("synced", extra={"rows": 42})

becomes one `INFO` line `synced` with metadata `{"rows": 42}`, which `get_current_logs` and
the platform read back. Levels map by number: `DEBUG`, `INFO`, `WARNING`, `ERROR`,
`CRITICAL`, and a custom level counts as the nearest standard one at or below it. The keys of
`extra` are the metadata (values JSON cannot hold are written with `str`); the logger's name
is not recorded. `logging.exception(...)` (or `exc_info=True`) keeps the traceback in the
same entry, after the message, as Python prints it.

A line the host refuses (too large, say) is reported on stderr, which the host records as an
`ERROR` line; logging never raises into the workflow.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from . import _host
from ._json import dumps
from .errors import ExecutionsError, InvalidArgument
from .models import LogLevel

__all__ = ["ExecutionLogHandler", "install", "log"]

# The attributes every `LogRecord` has; anything else on a record came from `extra`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def metadata_of(record: logging.LogRecord) -> dict[str, Any] | None:
    """The `extra` keys of a record, or `None` if it has none."""
    extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    return extra or None


def message_of(record: logging.LogRecord) -> str:
    """The record's message, with its traceback and stack, if any, after it."""
    message = record.getMessage()
    if record.exc_info and record.exc_info[0] is not None:
        message = f"{message}\n{_FORMATTER.formatException(record.exc_info)}"
    elif record.exc_text:
        message = f"{message}\n{record.exc_text}"
    if record.stack_info:
        message = f"{message}\n{_FORMATTER.formatStack(record.stack_info)}"
    return message


_FORMATTER = logging.Formatter()


class ExecutionLogHandler(logging.Handler):
    """Writes each record as one line of the current execution's log."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            metadata = metadata_of(record)
            text = None if metadata is None else dumps(_jsonable(metadata))
            _host.current().log(LogLevel.from_python(record.levelno), message_of(record), text)
        except ExecutionsError as e:
            print(f"bifrost: a log line was not recorded: {e}", file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata with each value JSON can not hold replaced by its `str`."""
    out = {}
    for key, value in metadata.items():
        try:
            dumps(value)
            out[key] = value
        except (TypeError, ValueError):
            out[key] = str(value)
    return out


def log(level: str | LogLevel, message: str, metadata: dict[str, Any] | None = None) -> None:
    """Append one line to the current execution's log, without `logging` (exported as
    `bifrost.log`): `bifrost.log("INFO", "step done", {"step": 2})`.

    Unlike the handler, it raises: `InvalidArgument` naming `level` for an unknown level or
    `metadata` if it is not a dict (a JSON object), `NoExecutionContext` outside an
    execution, `TooLarge` beyond the host's limit.
    """
    try:
        parsed = LogLevel.parse(level)
    except ValueError as e:
        raise InvalidArgument("level", str(e)) from None
    if not isinstance(message, str):
        raise TypeError(f"a log message is a str, not {type(message).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidArgument("metadata", "must be a JSON object")
    text = None if metadata is None else dumps(metadata)
    _host.current().log(parsed, message, text)


def install() -> ExecutionLogHandler:
    """Put an `ExecutionLogHandler` on the root logger (once) and let every level through."""
    root = logging.getLogger()
    for existing in root.handlers:
        if isinstance(existing, ExecutionLogHandler):
            return existing
    handler = ExecutionLogHandler()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return handler
