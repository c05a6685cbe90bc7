"""Month arithmetic and the forecast rules both cost sources share.

The forecast *window* is always ``[today, first day of next month)``: it starts today because
Cost Explorer rejects a forecast that starts in the past, and it always holds at least one day,
so the last day of a month asks for a one-day forecast instead of the empty ``[today, today)``
range Cost Explorer rejects with a ValidationException.

The local source's model (:func:`simple_forecast`) is deliberately simple and documented:
mean of the last 7 complete days × days left, interval from the daily standard deviation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist
from typing import Any, cast

import pandas as pd

from analytics.costs.frames import DEFAULT_LEVEL, HISTORY_DAYS, CostQueryError


def first_of_month(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    """First day of the month after ``d``'s."""
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(d: date) -> date:
    """First day of the month before ``d``'s."""
    return (d.replace(day=1) - timedelta(days=1)).replace(day=1)


def forecast_window(today: date) -> tuple[date, date]:
    """``[today, first of next month)``: never empty, never starting in the past."""
    return today, next_month(today)


@dataclass(frozen=True)
class Forecast:
    """Forecast spend over ``[start, end)`` with its prediction interval at ``level`` %."""

    start: date
    end: date
    mean: float
    lower: float
    upper: float
    level: int
    model: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def shifted(self, actual_so_far: float) -> Forecast:
        """The same forecast with the actual spend before ``start`` added (a month's total)."""
        return Forecast(self.start, self.end, self.mean + actual_so_far,
                        self.lower + actual_so_far, self.upper + actual_so_far, self.level,
                        self.model)


def z_for_level(level: int) -> float:
    """Two-sided normal quantile: 80 -> 1.2816."""
    if not 51 <= level <= 99:
        raise CostQueryError(f"prediction interval level must be 51..99, got {level}")
    return NormalDist().inv_cdf(0.5 + level / 200.0)


SIMPLE_MODEL = ("mean of the last 7 complete days (1st-of-month days excluded) × days left; "
                "interval ± z·σ·√days from their daily standard deviation")


def simple_forecast(daily: pd.Series, start: date, end: date,
                    *, level: int = DEFAULT_LEVEL) -> Forecast | None:
    """Forecast ``[start, end)`` from ``daily`` (date -> amount of complete days before start).

    Days falling on the 1st of a month are left out of the mean: recurring fees (reserved
    instances, support) are billed on the 1st in UnblendedCost and do not repeat within a month.
    When the window itself holds a 1st, the last observed 1st's excess over a typical day is
    added once. Returns None when no complete day is known (a brand-new account).
    """
    z = z_for_level(level)
    if end <= start:
        raise CostQueryError(f"the forecast must end after it starts ({start} .. {end})")
    # the labels are dates (the contract above); pandas-stubs only knows them as Hashable
    by_day = cast("Iterable[tuple[date, Any]]", daily.items())
    known = {d: float(v) for d, v in by_day if d < start}
    recent = sorted(d for d in known if d.day != 1)[-HISTORY_DAYS:]
    if not recent:
        return None
    values = [known[d] for d in recent]
    mean_day = sum(values) / len(values)
    var = (sum((v - mean_day) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 \
        else 0.0
    days = (end - start).days
    mean = mean_day * days
    firsts = [d for d in known if d.day == 1]
    window_firsts = sum(1 for n in range(days) if (start + timedelta(days=n)).day == 1)
    if firsts and window_firsts:
        mean += window_firsts * max(0.0, known[max(firsts)] - mean_day)
    half = z * math.sqrt(var) * math.sqrt(days)
    return Forecast(start, end, mean, max(0.0, mean - half), mean + half, level, SIMPLE_MODEL)
