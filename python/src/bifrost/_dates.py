"""Dates and times between Python and the host: its `datetime` records and ISO-8601 text."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def from_record(record: Any) -> datetime:
    """An aware UTC `datetime` from the host's `datetime` record (seconds and nanoseconds
    since the Unix epoch); nanoseconds below a microsecond are dropped, as the stores do."""
    return _EPOCH + timedelta(seconds=record.seconds, microseconds=record.nanoseconds // 1000)


def format_timestamp(value: datetime) -> str:
    """The host's form of a time: UTC, microseconds, `Z` (a naive value is taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def date_bound(value: str | date | datetime | None, parameter: str) -> str | None:
    """A `start_date`/`end_date` argument as the host's text.

    Text goes to the host as given (it validates it and names the parameter if it is
    malformed). A `datetime` becomes ISO-8601 text with its offset (a naive one is taken as
    UTC, as the host takes text without an offset); a `date` covers that day in UTC.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(
        f"{parameter} must be ISO-8601 text, a date or a datetime, not {type(value).__name__}"
    )
