"""The shapes of the Costs page: whole-day periods, one app's month, the whole view.

``CostView`` holds everything the page and the review pack draw, so both are built from one
set of cached queries and can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from analytics.costs.forecast import Forecast, first_of_month, previous_month
from analytics.costs.queries import UNTAGGED

MOVERS = 10


@dataclass(frozen=True)
class Period:
    """Whole days ``[start, end)``."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return max(0, (self.end - self.start).days)

    def mask(self, days: pd.Series) -> pd.Series:
        return (days >= self.start) & (days < self.end)


def month_periods(today: date) -> tuple[Period, Period, Period]:
    """(month to date, the same days of last month, the whole of last month)."""
    first = first_of_month(today)
    prev = previous_month(today)
    mtd = Period(first, today, f"{first:%b} 1–{(today - timedelta(days=1)):%d}"
                 if today > first else f"{first:%b} (no complete day yet)")
    same_end = min(first, prev + timedelta(days=mtd.days))
    same = Period(prev, same_end, f"same days of {prev:%b}")
    return mtd, same, Period(prev, first, f"{prev:%B %Y}")


@dataclass(frozen=True)
class AppCost:
    """One app's month (or the untagged spend, or the total when ``app`` is None)."""

    key: str
    label: str
    mtd: float
    same_days_last_month: float
    last_month: float
    month_forecast: Forecast | None  # month total: month to date + forecast of the rest
    budget: float | None = None

    @property
    def change_pct(self) -> float | None:
        if not self.same_days_last_month:
            return None
        return (self.mtd - self.same_days_last_month) / self.same_days_last_month * 100.0

    @property
    def over_budget(self) -> bool:
        """The forecast month total passes the budget."""
        return (self.budget is not None and self.month_forecast is not None
                and self.month_forecast.mean > self.budget)

    @property
    def may_pass_budget(self) -> bool:
        """Only the upper end of the prediction interval passes the budget."""
        return (self.budget is not None and self.month_forecast is not None
                and not self.over_budget and self.month_forecast.upper > self.budget)


@dataclass
class CostView:
    today: date
    metric: str
    level: int
    mtd: Period
    same_days: Period
    last_month: Period
    daily: pd.DataFrame  # start, service, app, amount over [last month's 1st, today)
    apps: list[AppCost]
    total: AppCost
    show_untagged: bool
    anomalies: pd.DataFrame
    fetched_at: float
    stale: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def budget_warnings(self) -> list[str]:
        out = []
        for a in self.apps:
            if a.over_budget and a.month_forecast and a.budget is not None:
                out.append(f"{a.label}: the forecast for {self.mtd.start:%B} "
                           f"(${a.month_forecast.mean:,.2f}) passes the budget of "
                           f"${a.budget:,.2f} by ${a.month_forecast.mean - a.budget:,.2f}.")
        return out

    @property
    def budget_cautions(self) -> list[str]:
        return [f"{a.label}: the upper end of the {self.level}% forecast range "
                f"(${a.month_forecast.upper:,.2f}) passes the budget of ${a.budget:,.2f}."
                for a in self.apps if a.may_pass_budget and a.month_forecast and a.budget]

    @property
    def untagged_share(self) -> float | None:
        """Untagged share of the spend (month to date, else last month); None for viewers."""
        if not self.show_untagged:
            return None
        period = self.mtd if self.mtd.days else self.last_month
        rows = self.daily[period.mask(self.daily["start"])]
        total = float(rows["amount"].sum())
        if not total:
            return None
        return float(rows.loc[rows["app"] == UNTAGGED, "amount"].sum()) / total * 100.0
