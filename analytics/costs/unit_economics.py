"""Unit economics per app: cost per monthly active user and cost per 1,000 API requests.

MAU comes from the app's custom metric named by ``mau_metric`` in apps.toml (default
``ActiveUsers``): a gauge of distinct users over a rolling 30 days, so a month's MAU is the metric's
**Maximum** over that month. It is read through
:func:`analytics.custom.service.custom_metric_series`: when that read fails or finds no data, the
MAU is unknown and the page says how to send it, never a made-up number. Requests are API Gateway
``Count`` (Sum, daily buckets) over the last 7 complete days, matched day by day with the same days'
cost, so days the metrics store does not cover are left out of both sides (and when the metrics
history starts inside the window, its first, partial day too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import pandas as pd

from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.core.catalog import App
from analytics.core.runtime import RuntimeOf
from analytics.costs.forecast import next_month
from analytics.costs.model import CostView
from analytics.costs.source import HasCosts
from analytics.custom.service import custom_metric_series
from analytics.custom.source import HasCustom
from analytics.metrics.queries import api_query
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics


class UnitSources(HasCosts, HasCustom, HasMetrics, Protocol):
    """Costs over MAU (custom metrics) and over requests (CloudWatch)."""


UnitRuntime = RuntimeOf[UnitSources]

#: The seed target: a monthly active user should cost under ten cents.
TARGET_PER_MAU_USD = 0.10
REQUEST_DAYS = 7
DAY_S = 86400


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def mau_unknown_note(metric: str) -> str:
    return f"MAU unknown: send {metric} through the ingest API"


def month_mau(rt: UnitRuntime, app: App, *, start: date, end: date) -> tuple[float | None, str]:
    """(MAU of ``[start, end)``, note): the custom metric's Maximum, or None and why."""
    access.require(app.id)
    note = mau_unknown_note(app.mau_metric)
    try:
        frame = custom_metric_series(rt, app.id, app.mau_metric, start=_midnight(start),
                                     end=_midnight(end), period=DAY_S, stat="Maximum").value
    except (UpstreamError, ValueError) as exc:
        return None, f"{note} (reading it failed: {type(exc).__name__})"
    value = float(frame["value"].max()) if len(frame) else float("nan")
    if value != value or value <= 0:  # NaN or no users
        return None, note
    return value, ""


@dataclass(frozen=True)
class MauRow:
    app: str
    label: str
    period: str
    cost_usd: float
    mau: float | None
    note: str

    @property
    def cost_per_mau(self) -> float | None:
        return None if not self.mau else self.cost_usd / self.mau

    @property
    def over_target(self) -> bool:
        return self.cost_per_mau is not None and self.cost_per_mau > TARGET_PER_MAU_USD


def cost_per_mau(rt: UnitRuntime, view: CostView) -> list[MauRow]:
    """Per app: last month (actual cost / its MAU) and this month (projected cost / MAU so far)."""
    rows: list[MauRow] = []
    for a in view.apps:
        if a.key not in rt.catalog.ids():
            continue
        app = rt.catalog.get(a.key)
        mau, note = month_mau(rt, app, start=view.last_month.start, end=view.last_month.end)
        rows.append(MauRow(app.id, app.display_name, f"{view.last_month.start:%B %Y} (actual)",
                           a.last_month, mau, note))
        this = a.month_forecast.mean if a.month_forecast else a.mtd
        what = "projected" if a.month_forecast else "to date"
        mau, note = month_mau(rt, app, start=view.mtd.start,
                              end=min(view.today + timedelta(days=1), next_month(view.today)))
        rows.append(MauRow(app.id, app.display_name, f"{view.mtd.start:%B %Y} ({what})", this,
                           mau, note))
    return rows


def mau_table(rows: list[MauRow]) -> pd.DataFrame:
    return pd.DataFrame([{
        "app": r.label, "period": r.period, "cost_usd": round(r.cost_usd, 2),
        "mau": r.mau, "cost_per_mau_usd": None if r.cost_per_mau is None
        else round(r.cost_per_mau, 4), "target_usd": TARGET_PER_MAU_USD,
        "note": r.note or ("over target" if r.over_target else "within target"),
    } for r in rows], columns=["app", "period", "cost_usd", "mau", "cost_per_mau_usd",
                               "target_usd", "note"])


def cost_per_1k_requests(rt: UnitRuntime, view: CostView, *, days: int = REQUEST_DAYS
                         ) -> pd.DataFrame:
    """Per app over the last ``days`` complete days: cost, API requests, cost per 1,000."""
    apps = [rt.catalog.get(a.key) for a in view.apps if a.key in rt.catalog.ids()]
    apps = access.filter_apps(apps)
    end = view.today
    start = end - timedelta(days=days)
    queries = [api_query(app.id, api, "Count", stat="Sum", period=DAY_S)
               for app in apps for api in app.resources.apis]
    cols = ["app", "days", "cost_usd", "requests", "cost_per_1k_requests_usd", "note"]
    try:
        frame = fetch_metrics(rt, queries, start=_midnight(start), end=_midnight(end)).value
    except UpstreamError as exc:
        return pd.DataFrame([{"app": a.display_name, "days": 0, "cost_usd": None,
                              "requests": None, "cost_per_1k_requests_usd": None,
                              "note": f"requests unavailable: {exc}"} for a in apps],
                            columns=cols)
    out = []
    for app in apps:
        f = frame[frame["app"] == app.id]
        per_day = f.groupby(f["timestamp"].dt.date)["value"].sum() if len(f) else pd.Series()
        per_day = per_day[[start <= d < end for d in per_day.index]] if len(per_day) else per_day
        if 0 < len(per_day) < days:  # history starts inside the window: its first day is partial
            per_day = per_day.iloc[1:]
        cost = view.daily[(view.daily["app"] == app.id)
                          & view.daily["start"].isin(list(per_day.index))]["amount"].sum()
        req = float(per_day.sum()) if len(per_day) else 0.0
        out.append({"app": app.display_name, "days": len(per_day), "cost_usd": round(cost, 2),
                    "requests": req, "cost_per_1k_requests_usd":
                    round(cost / req * 1000.0, 4) if req else None,
                    "note": "" if req else "no API request data for these days"})
    return pd.DataFrame(out, columns=cols)
