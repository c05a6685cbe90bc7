"""The Costs page's data: month to date, forecast, budgets, movers, untagged share, anomalies.

Everything on the page comes from three cached queries (:mod:`analytics.costs.queries`): one
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
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from analytics.core import access
from analytics.core.cache import Cached, UpstreamError
from analytics.core.catalog import App
from analytics.costs import queries as cost_queries
from analytics.costs.forecast import Forecast, forecast_window
from analytics.costs.frames import DEFAULT_LEVEL, DEFAULT_METRIC, TAG_STATUS
from analytics.costs.model import AppCost, CostView, Period, month_periods
from analytics.costs.queries import OWN_STACK, OWN_STACK_LABEL, UNTAGGED, CostsRuntime, is_admin


def _sum(frame: pd.DataFrame, period: Period, app: str | None = None) -> float:
    rows = frame[period.mask(frame["start"])]
    if app is not None:
        rows = rows[rows["app"] == app]
    return float(rows["amount"].sum())


def _merge(parts: Sequence[Cached[Any]]) -> tuple[float, bool, str | None]:
    errors = [p.error for p in parts if p.error]
    return (min(p.fetched_at for p in parts), any(p.stale for p in parts),
            errors[0] if errors else None)


@dataclass(frozen=True)
class _ForecastAnswer:
    """One forecast query's outcome: the forecast, where it came from, or why there is none."""

    forecast: Forecast | None
    cached: Cached[Forecast | None] | None
    note: str | None


def _forecast(rt: CostsRuntime, *, today: date, app_id: str | None, metric: str, level: int,
              label: str) -> _ForecastAnswer:
    try:
        cached = cost_queries.forecast(rt, today, app_id, metric=metric, level=level)
    except UpstreamError as exc:
        return _ForecastAnswer(None, None, f"Forecast for {label} unavailable: {exc}")
    note = (None if cached.value is not None
            else f"Forecast for {label} unavailable: not enough cost history yet.")
    return _ForecastAnswer(cached.value, cached, note)


def cost_view(rt: CostsRuntime, apps: Sequence[App], *, today: date | datetime | None = None,
              metric: str = DEFAULT_METRIC, level: int = DEFAULT_LEVEL) -> CostView:
    """Everything the Costs page shows for those of ``apps`` the principal may see.

    Raises :class:`analytics.core.cache.UpstreamError` only when the main cost query fails with
    nothing cached; a failed forecast or anomaly query becomes a note instead.
    """
    day = cost_queries.as_day(today if today is not None else rt.now())
    apps = access.filter_apps(apps)
    all_visible = {a.id for a in access.filter_apps(rt.catalog.apps)}
    show_untagged = is_admin() and {a.id for a in apps} >= all_visible
    mtd, same, last = month_periods(day)
    cached = cost_queries.costs(rt, last.start, day, metric=metric)
    picked = {a.id for a in apps}
    frame = cached.value
    daily = frame[
        cost_queries.scope_mask(
            frame["app"], app_ids=picked, catalog=rt.catalog, with_unassigned=show_untagged
        )
    ]
    daily = daily.reset_index(drop=True)

    answers: list[_ForecastAnswer] = []

    def forecast_of(app_id: str | None, label: str) -> Forecast | None:
        answers.append(_forecast(rt, today=day, app_id=app_id, metric=metric, level=level,
                                 label=label))
        return answers[-1].forecast

    rows: list[AppCost] = []
    for app in apps:
        fc = forecast_of(app.id, app.display_name)
        m = _sum(daily, mtd, app.id)
        rows.append(AppCost(app.id, app.display_name, m, _sum(daily, same, app.id),
                            _sum(daily, last, app.id), fc.shifted(m) if fc else None,
                            app.monthly_budget_usd))
    if show_untagged and bool((daily["app"] == OWN_STACK).any()):  # what the tool costs
        rows.append(AppCost(OWN_STACK, OWN_STACK_LABEL, _sum(daily, mtd, OWN_STACK),
                            _sum(daily, same, OWN_STACK), _sum(daily, last, OWN_STACK), None))
    if show_untagged:
        m = _sum(daily, mtd, UNTAGGED)
        rows.append(AppCost(UNTAGGED, "Untagged", m, _sum(daily, same, UNTAGGED),
                            _sum(daily, last, UNTAGGED), None))
        account = forecast_of(None, "the account")
        total_fc = account.shifted(_sum(daily, mtd)) if account else None
    else:
        fcs = [r.month_forecast for r in rows]
        total_fc = None if not fcs or not all(fcs) else Forecast(
            *forecast_window(day), sum(f.mean for f in fcs if f),
            sum(f.lower for f in fcs if f), sum(f.upper for f in fcs if f), level,
            "sum of the apps' forecasts (interval bounds added: conservative)")
    total = AppCost("total", "Total", _sum(daily, mtd), _sum(daily, same), _sum(daily, last),
                    total_fc)

    parts: list[Cached[Any]] = [cached, *(a.cached for a in answers if a.cached is not None)]
    tag_note = (cost_queries.tag_status_note(frame.attrs[TAG_STATUS])
                if TAG_STATUS in frame.attrs else None)
    notes = [*([tag_note] if tag_note else []), *(a.note for a in answers if a.note)]
    anomalies = pd.DataFrame()
    try:
        an = cost_queries.anomalies(rt, last.start, day)
        parts.append(an)
        anomalies = an.value[
            cost_queries.scope_mask(
                an.value["app"], app_ids=picked, catalog=rt.catalog, with_unassigned=show_untagged
            )
        ].reset_index(drop=True)
    except UpstreamError as exc:
        notes.append(f"Anomalies unavailable: {exc}")
    fetched_at, stale, error = _merge(parts)
    return CostView(day, metric, level, mtd, same, last, daily, [*rows], total, show_untagged,
                    anomalies, fetched_at, stale, error, notes)
