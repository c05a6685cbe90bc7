"""Time ranges and CloudWatch periods.

CloudWatch silently returns *no data* when a period breaks its retention rules, so every period
the dashboard sends is chosen here: high-resolution data (1, 5, 10 and 30-second periods) lives
3 hours, 1-minute data 15 days, 5-minute data 63 days and 1-hour data 455 days. Start and end
are aligned to the period so two viewers of "the last hour" in the same minute build the same
cache key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MINUTE = 60
HOUR = 3600
DAY = 86400

#: Retention tiers: (max age of the oldest point in seconds, required period multiple).
RETENTION_TIERS: tuple[tuple[int, int], ...] = (
    (15 * DAY, 60),
    (63 * DAY, 300),
    (455 * DAY, 3600),
)
#: Sub-minute periods of high-resolution metrics, and how long CloudWatch keeps them.
HIGH_RESOLUTION_PERIODS: tuple[int, ...] = (1, 5, 10, 30)
HIGH_RESOLUTION_AGE = 3 * HOUR
#: Periods the charts may use, smallest first.
CANDIDATE_PERIODS: tuple[int, ...] = (
    60, 300, 600, 900, 1800, 3600, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY,
)
#: Preset id -> duration, in the order the picker shows them.
PRESETS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "3h": timedelta(hours=3),
    "12h": timedelta(hours=12),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "14d": timedelta(days=14),
    "30d": timedelta(days=30),
}
#: Long ranges served in whole UTC days from the pipeline's rollups stitched to CloudWatch's
#: recent days (:mod:`analytics.pipeline.history`). Kept apart from PRESETS: CloudWatch alone
#: cannot serve them (1-hour data lives 455 days), so only pages that stitch offer them.
HISTORY_PRESETS: dict[str, timedelta] = {
    "90d": timedelta(days=90),
    "1y": timedelta(days=365),
    "2y": timedelta(days=730),
}
DEFAULT_PRESET = "3h"
DEFAULT_MAX_POINTS = 240


class PeriodError(ValueError):
    """A range CloudWatch cannot serve (too old, empty, or reversed)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def min_period_for_age(age_s: float) -> int:
    """The smallest period CloudWatch accepts for data ``age_s`` seconds old."""
    for max_age, multiple in RETENTION_TIERS:
        if age_s <= max_age:
            return multiple
    raise PeriodError(f"data older than 455 days is not kept by CloudWatch ({age_s / DAY:.0f} d)")


def period_is_valid(period: int, start: datetime, now: datetime, *,
                    high_resolution: bool = False) -> bool:
    """Whether CloudWatch can answer ``period`` for a range starting at ``start``.

    Sub-minute periods exist only for high-resolution metrics (an alarm with a 10 s or 30 s
    period is on one), and only for their last 3 hours.
    """
    age = (as_utc(now) - as_utc(start)).total_seconds()
    if high_resolution and period in HIGH_RESOLUTION_PERIODS:
        return age <= HIGH_RESOLUTION_AGE
    try:
        multiple = min_period_for_age(age)
    except PeriodError:
        return False
    return period >= 60 and period % multiple == 0


def choose_period(
    start: datetime, end: datetime, *, now: datetime | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
) -> int:
    """Smallest candidate period that respects retention and yields at most ``max_points``."""
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise PeriodError(f"the range ends ({end:%F %T}) before it starts ({start:%F %T})")
    now = as_utc(now or utcnow())
    age = max(0.0, (now - start).total_seconds())
    multiple = min_period_for_age(age)
    span = (end - start).total_seconds()
    for p in CANDIDATE_PERIODS:
        if p % multiple == 0 and span / p <= max_points:
            return p
    return max(CANDIDATE_PERIODS[-1], multiple * math.ceil(span / max_points / multiple))


def align_down(ts: datetime, period: int) -> datetime:
    epoch = int(as_utc(ts).timestamp())
    return datetime.fromtimestamp(epoch - epoch % period, UTC)


def align_up(ts: datetime, period: int) -> datetime:
    epoch = math.ceil(as_utc(ts).timestamp())
    rem = epoch % period
    return datetime.fromtimestamp(epoch if rem == 0 else epoch + period - rem, UTC)


@dataclass(frozen=True)
class TimeRange:
    """An aligned range: ``start`` and ``end`` are multiples of ``period`` (epoch seconds)."""

    start: datetime
    end: datetime
    period: int
    label: str = "custom"

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def previous(self) -> TimeRange:
        """The window of the same length just before this one (for comparisons)."""
        d = self.end - self.start
        return TimeRange(self.start - d, self.start, self.period, f"previous {self.label}")

    def key(self) -> tuple[int, int, int]:
        return (int(self.start.timestamp()), int(self.end.timestamp()), self.period)


def make_range(
    start: datetime, end: datetime, *, now: datetime | None = None, label: str = "custom",
    max_points: int = DEFAULT_MAX_POINTS, include_previous: bool = True,
) -> TimeRange:
    """Align a raw range. With ``include_previous`` the period also suits the previous window."""
    now = as_utc(now or utcnow())
    start, end = as_utc(start), min(as_utc(end), now + timedelta(minutes=1))
    if end <= start:  # before the previous window is added, so the message names these dates
        raise PeriodError(f"the range ends ({end:%F %H:%M} UTC) before it starts "
                          f"({start:%F %H:%M} UTC)")
    oldest = start - (end - start) if include_previous else start
    period = choose_period(
        oldest, end, now=now, max_points=max_points * (2 if include_previous else 1)
    )
    # The end is aligned *down*: a partial last bucket would read as a fake drop on every
    # sparkline and bias the comparison with the (complete) previous window.
    a_end = align_down(end, period)
    if a_end <= start:
        a_end = align_up(end, period)
    a_start = align_down(a_end - (end - start), period)
    if a_end <= a_start:
        a_start = a_end - timedelta(seconds=period)
    return TimeRange(a_start, a_end, period, label)


def preset_range(preset: str, now: datetime | None = None, *,
                 max_points: int = DEFAULT_MAX_POINTS, include_previous: bool = True
                 ) -> TimeRange:
    """The range for a preset id such as ``"24h"``, ending now."""
    if preset not in PRESETS:
        raise PeriodError(f"unknown range {preset!r}; choose one of {list(PRESETS)}")
    now = as_utc(now or utcnow())
    return make_range(now - PRESETS[preset], now, now=now, label=preset, max_points=max_points,
                      include_previous=include_previous)


def history_range(preset: str, now: datetime | None = None) -> TimeRange:
    """Whole UTC days ``[today - N, today)`` for a history preset: complete days only, one
    bucket per day, the same buckets the pipeline's daily rollups hold."""
    if preset not in HISTORY_PRESETS:
        raise PeriodError(f"unknown history range {preset!r}; choose one of "
                          f"{list(HISTORY_PRESETS)}")
    end = align_down(as_utc(now or utcnow()), DAY)
    return TimeRange(end - HISTORY_PRESETS[preset], end, DAY, preset)


def is_history(tr: TimeRange) -> bool:
    """Whether ``tr`` came from :func:`history_range` (served by the stitched history)."""
    return tr.label in HISTORY_PRESETS and tr.period == DAY
