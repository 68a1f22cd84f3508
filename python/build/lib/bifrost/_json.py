"""JSON text of the values a workflow hands to the host (its result, variables, metadata)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from ._dates import format_timestamp


def _convert(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Compact JSON text; also `datetime` (the host's UTC form), `date`, `UUID`, enums,
    dataclasses and sets. NaN and infinities are refused (JSON has none): `ValueError`."""
    return json.dumps(value, default=_convert, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
