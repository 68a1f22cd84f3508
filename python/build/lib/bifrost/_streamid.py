"""Stream entry ids, `<milliseconds>-<sequence>`, as the host writes them."""

from __future__ import annotations

_U64_MAX = 2**64 - 1


def parse(text: str) -> tuple[int, int] | None:
    """`(ms, seq)` of an entry id, or `None` if it is not one."""
    ms, sep, seq = text.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit() or not ms.isascii() or not seq.isascii():
        return None
    parsed = int(ms), int(seq)
    return parsed if max(parsed) <= _U64_MAX else None


def successor(entry_id: tuple[int, int]) -> str | None:
    """The first id after `entry_id`, as text; `None` after the last possible id."""
    ms, seq = entry_id
    if seq < _U64_MAX:
        return f"{ms}-{seq + 1}"
    if ms < _U64_MAX:
        return f"{ms + 1}-0"
    return None
