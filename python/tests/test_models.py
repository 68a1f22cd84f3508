"""Status and level names, dates, and the mapping of the host's records to the reference
SDK's dataclasses."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from bifrost import ExecutionStatus, LogLevel, WorkflowExecution

from bifrost._dates import date_bound, format_timestamp, from_record, record_text
from bifrost._json import dumps
from bifrost._streamid import parse, successor
from bifrost.models import UnknownStatus, execution_from_record, json_or_text, log_from_record
from conftest import WitLevel, WitStatus, execution_record, log_record


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Failed", ExecutionStatus.FAILED),
        ("failed", ExecutionStatus.FAILED),
        ("Completed", ExecutionStatus.SUCCESS),
        ("completed", ExecutionStatus.SUCCESS),
        ("Success", ExecutionStatus.SUCCESS),
        ("completed_with_errors", ExecutionStatus.COMPLETED_WITH_ERRORS),
        ("Completed With-Errors", ExecutionStatus.COMPLETED_WITH_ERRORS),
        ("COMPLETED_WITH_ERRORS", ExecutionStatus.COMPLETED_WITH_ERRORS),
        ("running", ExecutionStatus.RUNNING),
        (ExecutionStatus.STUCK, ExecutionStatus.STUCK),
    ],
)
def test_status_names_parse_as_tolerantly_as_the_rust_crate(text: str, status: ExecutionStatus) -> None:
    assert ExecutionStatus.parse(text) is status


def test_an_unknown_status_is_a_value_error_listing_the_names() -> None:
    with pytest.raises(UnknownStatus) as e:
        ExecutionStatus.parse("Done")
    assert isinstance(e.value, ValueError)
    assert str(e.value) == (
        'unknown execution status "Done"; expected one of Scheduled, Pending, Running, '
        "Success, Failed, Timeout, Stuck, CompletedWithErrors, Cancelling, Cancelled "
        "(or Completed, another name of Success)"
    )
    with pytest.raises(TypeError):
        ExecutionStatus.parse(3)  # type: ignore[arg-type]


def test_statuses_are_text() -> None:
    assert ExecutionStatus.SUCCESS == "Success"
    assert f"{ExecutionStatus.COMPLETED_WITH_ERRORS}" == "CompletedWithErrors"
    assert json.dumps(ExecutionStatus.FAILED) == '"Failed"'
    assert [s.is_final for s in (ExecutionStatus.RUNNING, ExecutionStatus.CANCELLING, ExecutionStatus.STUCK)] == [
        False,
        False,
        True,
    ]


def test_levels_parse_and_map_from_python_logging() -> None:
    assert LogLevel.parse("warn") is LogLevel.WARNING
    assert LogLevel.parse(" info ") is LogLevel.INFO
    with pytest.raises(ValueError, match="unknown log level"):
        LogLevel.parse("TRACE")
    assert [LogLevel.from_python(n) for n in (5, 10, 15, 20, 25, 30, 40, 45, 50, 60)] == [
        LogLevel.DEBUG,
        LogLevel.DEBUG,
        LogLevel.DEBUG,
        LogLevel.INFO,
        LogLevel.INFO,
        LogLevel.WARNING,
        LogLevel.ERROR,
        LogLevel.ERROR,
        LogLevel.CRITICAL,
        LogLevel.CRITICAL,
    ]
    assert str(LogLevel.INFO) == "INFO"


def test_time_records_become_aware_utc_datetimes_in_the_hosts_form() -> None:
    parsed = from_record(SimpleNamespace(seconds=1776672000, nanoseconds=250_000_999))
    assert parsed == datetime(2026, 4, 20, 8, 0, 0, 250000, tzinfo=timezone.utc)
    assert format_timestamp(parsed) == "2026-04-20T08:00:00.250000Z"
    before = from_record(SimpleNamespace(seconds=-1, nanoseconds=999_999_000))
    assert before == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    # The text of a log entry's time, made without a `datetime`, is the same text.
    for seconds in (0, -1, 951_782_400, 1776672000, 1776672000, 4_107_542_399):
        for nanoseconds in (0, 999, 250_000_999, 999_999_999):
            r = SimpleNamespace(seconds=seconds, nanoseconds=nanoseconds)
            assert record_text(r) == format_timestamp(from_record(r))
    cest = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2026, 4, 20, 10, tzinfo=cest)) == "2026-04-20T08:00:00.000000Z"


def test_date_bounds_accept_text_dates_and_datetimes() -> None:
    assert date_bound(None, "start_date") is None
    assert date_bound("yesterday", "start_date") == "yesterday"  # the host judges text
    assert date_bound(date(2026, 4, 25), "start_date") == "2026-04-25"
    assert date_bound(datetime(2026, 4, 25, 8, 30), "end_date") == "2026-04-25T08:30:00"
    assert (
        date_bound(datetime(2026, 4, 25, 8, 30, tzinfo=timezone.utc), "end_date")
        == "2026-04-25T08:30:00+00:00"
    )
    with pytest.raises(TypeError, match="end_date"):
        date_bound(20260425, "end_date")  # type: ignore[arg-type]


def test_records_map_to_the_reference_fields_and_types() -> None:
    entry = log_record()
    e = execution_from_record(execution_record(logs=[entry]))
    assert isinstance(e, WorkflowExecution)
    assert e.status == "CompletedWithErrors" and e.status is ExecutionStatus.COMPLETED_WITH_ERRORS
    assert e.input_data == {"n": 1, "tags": ["a"]}
    assert e.result == {"ok": True}
    assert e.started_at == datetime(2026, 4, 20, 8, 0, 0, 250000, tzinfo=timezone.utc)
    assert e.completed_at is not None and e.completed_at - e.started_at == timedelta(milliseconds=1500)
    assert e.created_at.tzinfo is timezone.utc
    assert e.variables == {"attempt": 2}
    assert e.duration_ms == 1500 and e.peak_memory_bytes == 1048576 and e.cpu_total_seconds == 0.25
    assert e.logs == [
        {
            "id": "1776672000250-0",
            "execution_id": "00000000-0000-0000-0000-000000001000",
            "level": "WARNING",
            "message": "line 0",
            "metadata": {"i": 0},
            "timestamp": "2026-04-20T08:00:00.250000Z",
        }
    ]
    running = execution_from_record(
        execution_record(status=WitStatus.RUNNING, result=None, completed_at=None, variables=None, duration_ms=None)
    )
    assert (running.result, running.completed_at, running.variables, running.logs) == (None, None, None, None)


def test_a_payload_that_is_not_json_stays_text() -> None:
    assert json_or_text('{"a": 1}') == {"a": 1}
    assert json_or_text("not json") == "not json"
    e = execution_from_record(execution_record(result="plain words"))
    assert e.result == "plain words"


def test_log_entries_map_with_levels_and_metadata() -> None:
    entry = log_from_record(log_record(level=WitLevel.CRITICAL, metadata=None))
    assert entry.level is LogLevel.CRITICAL and entry.metadata is None
    assert f"[{entry.level}] {entry.message}" == "[CRITICAL] line 0"


def test_unknown_names_are_quoted_as_the_rust_crate_quotes_them() -> None:
    with pytest.raises(UnknownStatus) as status:
        ExecutionStatus.parse('é"\x01')
    assert str(status.value).startswith('unknown execution status "é\\"\\u{1}"; expected one of')
    with pytest.raises(ValueError, match=r'^unknown log level "tab\\t"; expected'):
        LogLevel.parse("tab\t")


def test_stream_ids_parse_and_advance() -> None:
    assert parse("1776672000250-7") == (1776672000250, 7)
    assert parse("1776672000250") is None
    assert parse("-1-2") is None
    assert parse("١-٢") is None  # digits, but not ASCII ones
    assert parse(f"{2**64}-0") is None
    assert successor((5, 7)) == (5, 8)
    assert successor((5, 2**64 - 1)) == (6, 0)
    assert successor((2**64 - 1, 2**64 - 1)) is None


def test_results_serialise_with_times_dates_and_dataclasses() -> None:
    e = execution_from_record(execution_record())
    text = dumps({"when": e.started_at, "day": date(2026, 4, 20), "e": e, "s": {1}})
    back = json.loads(text)
    assert back["when"] == "2026-04-20T08:00:00.250000Z"
    assert back["day"] == "2026-04-20"
    assert back["e"]["status"] == "CompletedWithErrors"
    assert back["e"]["created_at"] == "2026-04-20T08:00:00.250000Z"
    assert back["s"] == [1]
    with pytest.raises(ValueError):
        dumps(float("nan"))
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps(object())
