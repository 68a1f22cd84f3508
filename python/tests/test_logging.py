"""Python's logging into the execution's log, through the handler a built workflow has."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bifrost import LogLevel, TooLarge, handler


@pytest.fixture
def logger(host: Any) -> Iterator[logging.Logger]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    root.handlers = []
    handler.install()
    yield logging.getLogger("workflow.test")
    root.handlers, root.level = saved


def test_levels_and_extra_metadata_arrive_as_written(host: Any, logger: logging.Logger) -> None:
    logging.info("synced", extra={"rows": 42, "tags": ["a"]})
    logging.debug("detail")
    logger.warning("careful %s", "now")
    logger.error("bad")
    logger.critical("worse", extra={"code": 7})
    logger.log(25, "custom level")
    assert host.lines == [
        (LogLevel.INFO, "synced", '{"rows":42,"tags":["a"]}'),
        (LogLevel.DEBUG, "detail", None),
        (LogLevel.WARNING, "careful now", None),
        (LogLevel.ERROR, "bad", None),
        (LogLevel.CRITICAL, "worse", '{"code":7}'),
        (LogLevel.INFO, "custom level", None),
    ]


def test_an_exception_keeps_its_traceback_in_one_entry(host: Any, logger: logging.Logger) -> None:
    def fails() -> None:
        raise KeyError("missing")

    try:
        fails()
    except KeyError:
        logging.exception("lookup failed")
    assert len(host.lines) == 1
    level, message, _ = host.lines[0]
    assert level is LogLevel.ERROR
    first, *rest = message.split("\n")
    assert first == "lookup failed"
    assert rest[0] == "Traceback (most recent call last):"
    assert "in fails" in message and rest[-1] == "KeyError: 'missing'"


def test_metadata_json_cannot_hold_is_written_as_text(host: Any, logger: logging.Logger) -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    logging.info("with object", extra={"thing": Thing(), "n": 1})
    assert host.lines == [(LogLevel.INFO, "with object", '{"thing":"a thing","n":1}')]


def test_a_refused_line_is_reported_on_stderr_not_raised(
    host: Any, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    host.error = TooLarge("a line of 2 MiB, the limit is 64 KiB")
    logging.warning("x" * 10)
    assert capsys.readouterr().err == "bifrost: a log line was not recorded: too large: a line of 2 MiB, the limit is 64 KiB\n"


def test_install_is_idempotent(host: Any, logger: logging.Logger) -> None:
    first = handler.install()
    assert handler.install() is first
    assert sum(isinstance(h, handler.ExecutionLogHandler) for h in logging.getLogger().handlers) == 1
    assert logging.getLogger().level == logging.DEBUG


def test_log_writes_one_line_and_refuses_what_the_rust_crate_refuses(host: Any) -> None:
    import bifrost
    from bifrost import InvalidArgument

    bifrost.log("warn", "step done", {"step": 2})
    bifrost.log(LogLevel.INFO, "empty metadata", {})
    assert host.lines == [(LogLevel.WARNING, "step done", '{"step":2}'), (LogLevel.INFO, "empty metadata", "{}")]
    with pytest.raises(InvalidArgument) as e:
        bifrost.log("DEBUG", "bad", [1])  # type: ignore[arg-type]
    assert str(e.value) == "invalid argument `metadata`: must be a JSON object"
    with pytest.raises(InvalidArgument) as e:
        bifrost.log("TRACE", "x")
    assert e.value.parameter == "level"
    host.error = TooLarge("a line of 2 MiB")
    with pytest.raises(TooLarge):
        bifrost.log("INFO", "x")
