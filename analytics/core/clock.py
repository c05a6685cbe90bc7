"""The process clock: every "now" of the dashboard comes from one injectable function.

Pages, services and sources ask the runtime (``rt.now()``, ``rt.clock()``) instead of calling
``time.time()`` or ``datetime.now()``, so the store's fill, the ingest endpoint's ``receivedAt``,
the alarms' last complete period and a page's time range all agree on what "now" is — and a test
that freezes one clock freezes all of them (no test may depend on the wall clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

#: Epoch seconds, like ``time.time``.
Clock = Callable[[], float]


def system_clock() -> float:
    return time.time()


def utc(clock: Clock) -> datetime:
    """The clock's time as an aware UTC datetime."""
    return datetime.fromtimestamp(clock(), UTC)


def datetime_clock(clock: Clock) -> Callable[[], datetime]:
    """The clock for the sources that speak datetimes (``LocalAlarms``, ``AwsMetrics``)."""
    return lambda: utc(clock)


class ManualClock:
    """A clock that only moves when told to: tests and benches set it, every layer reads it."""

    def __init__(self, start: datetime | float) -> None:
        self.t = start.timestamp() if isinstance(start, datetime) else float(start)

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def set(self, when: datetime | float) -> None:
        self.t = when.timestamp() if isinstance(when, datetime) else float(when)
