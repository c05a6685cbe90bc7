"""The Costs page's data: month to date, forecast, budgets, movers, untagged share, anomalies.

Everything on the page comes from three cached queries (:mod:`analytics.cost_queries`): one
DAILY GetCostAndUsage grouped by service *and* ``Application`` tag from the first day of last
month to today (it answers month to date, the same days of last month, last month's total, the
daily bars, the split per app, the movers and the untagged share at once), one GetCostForecast
per app (plus one account-wide for admins) and one GetAnomalies. On aws a cold page costs about
5 Cost Explorer requests ($0.05) per 6 hours for everyone, and a warm one nothing.

"Month to date" covers the complete days of the month (``[1st, today)``): today's figure is an
estimate that moves until the day closes. The forecast covers ``[today, end of month)`` and the
month's projection is month-to-date + forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from analytics import access, cost_queries
from analytics.cache import Cached, UpstreamError
from analytics.catalog import App
from analytics.cost_forecast import (
    DEFAULT_LEVEL,
    DEFAULT_METRIC,
    Forecast,
    first_of_month,
    forecast_window,
    previous_month,
)
from analytics.cost_queries import UNTAGGED, is_admin, today_utc

if TYPE_CHECKING:
    from analytics.runtime import Runtime

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


def _sum(frame: pd.DataFrame, period: Period, app: str | None = None) -> float:
    rows = frame[period.mask(frame["start"])]
    if app is not None:
        rows = rows[rows["app"] == app]
    return float(rows["amount"].sum())


def _merge(parts: Sequence[Cached[Any]]) -> tuple[float, bool, str | None]:
    errors = [p.error for p in parts if p.error]
    return (min(p.fetched_at for p in parts), any(p.stale for p in parts),
            errors[0] if errors else None)


def _forecast(rt: Runtime, today: date, app_id: str | None, metric: str, level: int,
              parts: list[Cached[Any]], notes: list[str], label: str) -> Forecast | None:
    try:
        cached = cost_queries.forecast(rt, today, app_id, metric=metric, level=level)
    except UpstreamError as exc:
        notes.append(f"Forecast for {label} unavailable: {exc}")
        return None
    parts.append(cached)
    if cached.value is None:
        notes.append(f"Forecast for {label} unavailable: not enough cost history yet.")
    return cached.value


def cost_view(rt: Runtime, apps: Sequence[App], today: date | datetime | None = None,
              metric: str = DEFAULT_METRIC, level: int = DEFAULT_LEVEL) -> CostView:
    """Everything the Costs page shows for those of ``apps`` the principal may see.

    Raises :class:`analytics.cache.UpstreamError` only when the main cost query fails with
    nothing cached; a failed forecast or anomaly query becomes a note instead.
    """
    day = cost_queries.as_day(today) if today is not None else today_utc()
    apps = access.filter_apps(apps)
    all_visible = {a.id for a in access.filter_apps(rt.catalog.apps)}
    show_untagged = is_admin() and {a.id for a in apps} >= all_visible
    mtd, same, last = month_periods(day)
    cached = cost_queries.costs(rt, last.start, day, metric=metric)
    parts: list[Cached[Any]] = [cached]
    notes: list[str] = []
    picked = {a.id for a in apps}
    frame = cached.value
    daily = frame[cost_queries.scope_mask(frame["app"], picked, rt.catalog, show_untagged)]
    daily = daily.reset_index(drop=True)

    rows: list[AppCost] = []
    for app in apps:
        fc = _forecast(rt, day, app.id, metric, level, parts, notes, app.display_name)
        m = _sum(daily, mtd, app.id)
        rows.append(AppCost(app.id, app.display_name, m, _sum(daily, same, app.id),
                            _sum(daily, last, app.id), fc.shifted(m) if fc else None,
                            app.monthly_budget_usd))
    if show_untagged:
        m = _sum(daily, mtd, UNTAGGED)
        rows.append(AppCost(UNTAGGED, "Untagged", m, _sum(daily, same, UNTAGGED),
                            _sum(daily, last, UNTAGGED), None))
        account = _forecast(rt, day, None, metric, level, parts, notes, "the account")
        total_fc = account.shifted(_sum(daily, mtd)) if account else None
    else:
        fcs = [r.month_forecast for r in rows]
        total_fc = None if not fcs or not all(fcs) else Forecast(
            *forecast_window(day), sum(f.mean for f in fcs if f),
            sum(f.lower for f in fcs if f), sum(f.upper for f in fcs if f), level,
            "sum of the apps' forecasts (interval bounds added: conservative)")
    total = AppCost("total", "Total", _sum(daily, mtd), _sum(daily, same), _sum(daily, last),
                    total_fc)

    anomalies = pd.DataFrame()
    try:
        an = cost_queries.anomalies(rt, last.start, day)
        parts.append(an)
        anomalies = an.value[cost_queries.scope_mask(
            an.value["app"], picked, rt.catalog, show_untagged)].reset_index(drop=True)
    except UpstreamError as exc:
        notes.append(f"Anomalies unavailable: {exc}")
    fetched_at, stale, error = _merge(parts)
    return CostView(day, metric, level, mtd, same, last, daily, [*rows], total, show_untagged,
                    anomalies, fetched_at, stale, error, notes)


# --- tables the page and the report draw ----------------------------------------------------

def summary_table(view: CostView) -> pd.DataFrame:
    """One row per app (and untagged, and the total): MTD, last month, forecast, budget."""
    out = []
    for a in [*view.apps, view.total]:
        f = a.month_forecast
        out.append({
            "app": a.label, "month_to_date_usd": round(a.mtd, 2),
            "same_days_last_month_usd": round(a.same_days_last_month, 2),
            "change_pct": None if a.change_pct is None else round(a.change_pct, 1),
            "last_month_usd": round(a.last_month, 2),
            "forecast_month_usd": None if f is None else round(f.mean, 2),
            f"forecast_low_{view.level}_usd": None if f is None else round(f.lower, 2),
            f"forecast_high_{view.level}_usd": None if f is None else round(f.upper, 2),
            "budget_usd": a.budget,
            "over_budget": a.over_budget,
        })
    return pd.DataFrame(out)


def daily_by_service(daily: pd.DataFrame) -> pd.DataFrame:
    """Long frame (start, service, amount) summed over apps: the stacked bars' data."""
    if daily.empty:
        return pd.DataFrame({"start": [], "service": [], "amount": []})
    return daily.groupby(["start", "service"], as_index=False)["amount"].sum()


def names(view: CostView) -> dict[str, str]:
    """App key -> the label the page shows (display name; "Untagged")."""
    return {a.key: a.label for a in view.apps}


def _named(frame: pd.DataFrame, labels: dict[str, str] | None) -> pd.DataFrame:
    if labels:
        frame = frame.assign(app=[labels.get(a, a) for a in frame["app"]])
    return frame


def split_by_app(daily: pd.DataFrame, period: Period,
                 labels: dict[str, str] | None = None) -> pd.DataFrame:
    rows = _named(daily[period.mask(daily["start"])], labels)
    out = rows.groupby("app", as_index=False)["amount"].sum().sort_values(
        "amount", ascending=False, ignore_index=True)
    total = float(out["amount"].sum())
    out["share_pct"] = (out["amount"] / total * 100.0).round(1) if total else 0.0
    out["amount"] = out["amount"].round(2)
    return out


def top_movers(daily: pd.DataFrame, current: Period, previous: Period,
               n: int = MOVERS, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """(app, service) pairs whose spend moved most between two periods, by absolute change."""
    daily = _named(daily, labels)
    cur = daily[current.mask(daily["start"])].groupby(["app", "service"])["amount"].sum()
    prev = daily[previous.mask(daily["start"])].groupby(["app", "service"])["amount"].sum()
    both = pd.concat([cur.rename("current_usd"), prev.rename("previous_usd")], axis=1)
    both = both.fillna(0.0).reset_index()
    both["change_usd"] = both["current_usd"] - both["previous_usd"]
    both["change_pct"] = [None if p == 0 else round((c - p) / p * 100.0, 1)
                          for c, p in zip(both["current_usd"], both["previous_usd"], strict=True)]
    both = both.reindex(both["change_usd"].abs().sort_values(ascending=False).index)
    for col in ("current_usd", "previous_usd", "change_usd"):
        both[col] = both[col].round(2)
    return both.head(n).reset_index(drop=True)


def movers_periods(view: CostView) -> tuple[Period, Period]:
    """Month to date vs the same days of last month; the last 7 days vs the 7 before them
    when the month has no complete day yet."""
    if view.mtd.days:
        return view.mtd, view.same_days
    week = Period(view.today - timedelta(days=7), view.today, "last 7 days")
    return week, Period(week.start - timedelta(days=7), week.start, "the 7 days before")


def budget_lines(view: CostView, app: AppCost) -> pd.DataFrame:
    """Cumulative spend of the month per day: actual, then the forecast with its range."""
    start, end = view.mtd.start, forecast_window(view.today)[1]
    # each point is the cumulative spend at the end of ``day``
    rows = view.daily[(view.daily["app"] == app.key) & view.mtd.mask(view.daily["start"])]
    per_day = rows.groupby("start")["amount"].sum()
    out, cum = [], 0.0
    for n in range(view.mtd.days):
        d = start + timedelta(days=n)
        cum += float(per_day.get(d, 0.0))
        out.append({"day": d, "actual_usd": cum, "forecast_usd": None, "low_usd": None,
                    "high_usd": None})
    f = app.month_forecast
    if f is not None:  # from the end of yesterday (the last actual) to the month's last day
        left = (end - view.today).days
        for n in range(left + 1):
            frac = n / left if left else 1.0
            out.append({"day": view.today - timedelta(days=1 - n), "actual_usd": None,
                        "forecast_usd": cum + (f.mean - cum) * frac,
                        "low_usd": cum + (f.lower - cum) * frac,
                        "high_usd": cum + (f.upper - cum) * frac})
    frame = pd.DataFrame(out)
    frame["budget_usd"] = app.budget
    return frame


def anomaly_table(view: CostView) -> pd.DataFrame:
    """The anomalies with app labels and money rounded to cents."""
    frame = _named(view.anomalies, names(view))
    for col in ("actual_usd", "expected_usd", "impact_usd"):
        if col in frame:
            frame[col] = frame[col].round(2)
    for col in ("impact_pct", "score"):
        if col in frame:
            frame[col] = frame[col].round(1 if col == "impact_pct" else 2)
    return frame
