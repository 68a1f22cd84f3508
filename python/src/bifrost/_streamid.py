"""Stream entry ids: `(milliseconds, sequence)`, the host's `stream-id` record, shown as
`<milliseconds>-<sequence>`."""

from __future__ import annotations

from typing import Any

from ._quote import rust_debug

_U64_MAX = 2**64 - 1


def _number(text: str) -> int | None:
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= _U64_MAX else None


def parse(text: str) -> tuple[int, int] | None:
    """`(ms, seq)` of an entry id `<ms>-<seq>`, or `None` if it is not one."""
    ms, sep, seq = text.partition("-")
    if not sep:
        return None
    parsed = _number(ms), _number(seq)
    return None if None in parsed else parsed  # type: ignore[return-value]


def parse_start(text: str) -> tuple[int, int] | None:
    """A start of a log read, by the host's rules: `<ms>-<seq>`, `<ms>` (that millisecond's
    first entry), `0` or `-` for the beginning, surrounding whitespace ignored; `None` if
    `text` is none of these."""
    t = text.strip()
    if t == "-":
        return (0, 0)
    if "-" in t:
        return parse(t)
    ms = _number(t)
    return None if ms is None else (ms, 0)


def start_error(text: str) -> str:
    """Why `text` is not a start, in the host's words."""
    return (
        f"{rust_debug(text)} is not a stream id (expected <milliseconds>-<sequence>, "
        "<milliseconds>, or 0 for the beginning)"
    )


def text(record: Any) -> str:
    """A `stream-id` record as `<milliseconds>-<sequence>`."""
    return f"{record.milliseconds}-{record.sequence}"


def successor(entry_id: tuple[int, int]) -> tuple[int, int] | None:
    """The first id after `entry_id`; `None` after the last possible id."""
    ms, seq = entry_id
    if seq < _U64_MAX:
        return (ms, seq + 1)
    if ms < _U64_MAX:
        return (ms + 1, 0)
    return None
