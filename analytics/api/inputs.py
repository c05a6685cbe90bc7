"""Arguments in, answers out: the API's parsing of times and names, and its time formats.

GraphQL checks types; this checks meaning, with messages naming the argument. Times arrive as
ISO-8601 (a naive time is UTC) or epoch milliseconds, and leave as AppSync's ``AWSDateTime``
(``2026-11-30T10:00:00.000Z``) so both servers print the same text for the same instant.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from analytics.api.errors import ApiError, Code
from ingest.keys import parse_dims

#: The longest text argument the API reads (names, ids); longer is refused before any lookup.
MAX_TEXT = 256
_MILLIS = re.compile(r"^-?\d{1,16}$")


def text(args: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = args.get(name)
    if value is None:
        if required:
            raise ApiError(Code.BAD_ARGUMENT, f"{name} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(Code.BAD_ARGUMENT, f"{name} must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise ApiError(Code.BAD_ARGUMENT, f"{name} is longer than {MAX_TEXT} characters")
    return value


def instant(args: dict[str, Any], name: str) -> datetime:
    """An ISO-8601 time (naive = UTC) or epoch milliseconds, as an aware UTC datetime."""
    raw = text(args, name)
    assert raw is not None
    try:
        if _MILLIS.fullmatch(raw.strip()):
            return datetime.fromtimestamp(int(raw) / 1000, UTC)
        parsed = datetime.fromisoformat(raw.strip())
    except (ValueError, OverflowError, OSError):
        raise ApiError(Code.BAD_ARGUMENT, f"{name}: expected an ISO-8601 time such as "
                       f"2026-11-30T10:00:00Z or epoch milliseconds, got {raw[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def day(args: dict[str, Any], name: str) -> date:
    raw = text(args, name)
    assert raw is not None
    try:
        return date.fromisoformat(raw.strip()[:10]) if len(raw.strip()) <= 10 else \
            instant(args, name).date()
    except ValueError:
        raise ApiError(Code.BAD_ARGUMENT, f"{name}: expected a date such as 2026-11-01, got "
                       f"{raw[:40]!r}") from None


def aws_datetime(ts: datetime | pd.Timestamp | float | int) -> str:
    """AppSync's AWSDateTime text (UTC, milliseconds, ``Z``); numbers are epoch seconds."""
    if isinstance(ts, int | float):
        moment = datetime.fromtimestamp(float(ts), UTC)
    elif isinstance(ts, pd.Timestamp):
        moment = ts.tz_localize(UTC).to_pydatetime() if ts.tzinfo is None else \
            ts.tz_convert(UTC).to_pydatetime()
    else:
        moment = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def dimensions_of(canonical: str) -> list[dict[str, str]]:
    """``"Plan=pro,Region=eu"`` -> ``[{"name": "Plan", "value": "pro"}, ...]``: the stored
    canonical string read back by the ingest path's own parser, so the API cannot disagree
    with the writer about escaped ``\\``, ``,`` and ``=``."""
    return [{"name": n, "value": v} for n, v in parse_dims(canonical)]
