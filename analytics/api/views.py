"""``getRealtimeMetrics`` and ``getCostAnalysis``: the Realtime and Costs pages' services, as data.

Realtime is :func:`analytics.realtime.service.realtime_view`, panel for panel. Costs read the
Costs page's cached door (:func:`analytics.costs.queries.costs`, whole days, filtered to the
caller after the cache: untagged spend for admins only) and take the month's forecast from
:func:`analytics.costs.service.cost_view`, so the API's forecast is the number the page shows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from analytics.api.errors import ApiError, Code
from analytics.api.inputs import aws_datetime, day, text
from analytics.core import access
from analytics.core.runtime import RuntimeOf
from analytics.costs import queries as cost_queries
from analytics.costs.forecast import Forecast
from analytics.costs.service import cost_view
from analytics.costs.source import HasCosts
from analytics.realtime.service import Panel, RealtimeSources, realtime_view

#: Cost Explorer serves DAILY data for the last 13 months; one answer covers at most a year.
COST_HISTORY_DAYS = 395
MAX_COST_DAYS = 366


def _lines(panel: Panel) -> list[dict[str, Any]]:
    return [{"name": name, "points": [{"timestamp": aws_datetime(_stamp(ts)),
                                       "value": float(v)} for ts, v in s.items() if pd.notna(v)]}
            for name, s in panel.lines.items()]


def _stamp(ts: object) -> pd.Timestamp:
    assert isinstance(ts, pd.Timestamp)  # the panels' series are indexed by bucket time
    return ts


def _panel(panel: Panel) -> dict[str, Any]:
    return {"key": panel.key, "title": panel.title, "unit": panel.unit, "lines": _lines(panel),
            "hiddenSeries": panel.hidden_series}


def get_realtime(rt: RuntimeOf[RealtimeSources], args: dict[str, Any], *, now: datetime
                 ) -> dict[str, Any]:
    app_id = text(args, "applicationId")
    assert app_id is not None
    view = realtime_view(rt, app_id, now=now)
    latest = view.latest
    return {
        "applicationId": view.app.id, "windowStart": aws_datetime(view.start),
        "windowEnd": aws_datetime(view.end), "service": [_panel(p) for p in view.service],
        "custom": [_panel(p) for p in view.custom], "hiddenMetrics": list(view.hidden_metrics),
        "lastDatapointAt": None if latest.last_ts_ms is None
        else aws_datetime(latest.last_ts_ms / 1000),
        "ingestLagP50Ms": latest.lag_p50_ms, "ingestLagP95Ms": latest.lag_p95_ms,
        "fetchedAt": aws_datetime(view.fetched_at), "stale": view.stale,
        "staleReason": view.error if view.stale else None,
    }


class CostApiSources(HasCosts, Protocol):
    """The sources the cost resolver reads."""


def _items(frame: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    sums = frame.groupby(column, sort=True)["amount"].sum()
    return [{"name": str(k), "amount": round(float(v), 6)}
            for k, v in sums.sort_values(ascending=False, kind="stable").items()]


def _forecast(fc: Forecast | None, month_start: date) -> dict[str, Any] | None:
    if fc is None:
        return None
    return {"start": month_start.isoformat(), "end": fc.end.isoformat(),
            "mean": round(fc.mean, 6), "lower": round(fc.lower, 6),
            "upper": round(fc.upper, 6), "level": fc.level, "model": fc.model}


def cost_range(args: dict[str, Any], *, today: date) -> tuple[date, date]:
    """``[startDate, endDate)`` in whole UTC days, checked against Cost Explorer's rules."""
    start, end = day(args, "startDate"), day(args, "endDate")
    if end <= start:
        raise ApiError(Code.BAD_RANGE, f"endDate ({end}) must be after startDate ({start}); "
                       "the range is [startDate, endDate)")
    if start > today:
        raise ApiError(Code.BAD_RANGE, f"startDate ({start}) is after today ({today})")
    if (today - start).days > COST_HISTORY_DAYS:
        raise ApiError(Code.RANGE_TOO_OLD, f"startDate ({start}) is more than 13 months ago; "
                       "Cost Explorer keeps daily costs for 13 months")
    end = min(end, today + timedelta(days=1))
    if (end - start).days > MAX_COST_DAYS:
        raise ApiError(Code.TOO_MANY_POINTS, f"{(end - start).days} days exceed "
                       f"{MAX_COST_DAYS} per request; split the range")
    return start, end


def get_cost_analysis(rt: RuntimeOf[CostApiSources], args: dict[str, Any], *, today: date
                      ) -> dict[str, Any]:
    start, end = cost_range(args, today=today)
    cached = cost_queries.costs(rt, start, end)
    frame = cached.value
    ids = set(rt.catalog.ids())
    apps = access.filter_apps(rt.catalog.apps)
    admin = cost_queries.is_admin()
    view = cost_view(rt, apps, today=today)
    forecasts = {a.key: a.month_forecast for a in view.apps}
    by_app = []
    for app in apps:
        rows = frame[frame["app"] == app.id]
        by_app.append({"applicationId": app.id, "displayName": app.display_name,
                       "amount": round(float(rows["amount"].sum()), 6),
                       "byService": _items(rows, "service"),
                       "monthlyBudget": app.monthly_budget_usd,
                       "forecast": _forecast(forecasts.get(app.id), view.mtd.start)})
    unassigned = frame[~frame["app"].isin(ids)]
    daily = frame.groupby("start", sort=True)["amount"].sum()
    return {
        "startDate": start.isoformat(), "endDate": end.isoformat(), "metric": view.metric,
        "currency": "USD", "total": round(float(frame["amount"].sum()), 6),
        "byService": _items(frame, "service"), "byApplication": by_app,
        "daily": [{"date": str(d), "amount": round(float(v), 6)} for d, v in daily.items()],
        "untagged": round(float(unassigned["amount"].sum()), 6) if admin else None,
        "forecast": _forecast(view.total.month_forecast, view.mtd.start),
        "fetchedAt": aws_datetime(min(cached.fetched_at, view.fetched_at)),
        "stale": cached.stale or view.stale, "notes": list(view.notes),
    }
