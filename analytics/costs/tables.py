"""The tables and chart data the Costs page and the review pack draw from a :class:`CostView`.

Pure functions of the view: the page's CSV downloads and the pack's tables are by construction
the data drawn.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from analytics.costs.forecast import forecast_window
from analytics.costs.model import MOVERS, AppCost, CostView, Period


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
    return daily.groupby(["start", "service"], as_index=False)[["amount"]].sum()


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
    out = rows.groupby("app", as_index=False)[["amount"]].sum().sort_values(
        "amount", ascending=False, ignore_index=True)
    total = float(out["amount"].sum())
    out["share_pct"] = (out["amount"] / total * 100.0).round(1) if total else 0.0
    out["amount"] = out["amount"].round(2)
    return out


def top_movers(daily: pd.DataFrame, current: Period, previous: Period,
               *, n: int = MOVERS, labels: dict[str, str] | None = None) -> pd.DataFrame:
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
