"""Cost Explorer's questions answered from the simulator's ``cost_items`` table.

Same shapes as :mod:`analytics.costs.aws`: a cost frame per GetCostAndUsage query
(periods clipped to the range like Cost Explorer's MONTHLY results), a :class:`Forecast` per
GetCostForecast query (the documented model of :func:`analytics.costs.forecast.simple_forecast`)
and the simulator's flagged anomaly, grouped into events, per GetAnomalies query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from analytics.costs.forecast import Forecast, simple_forecast, z_for_level
from analytics.costs.frames import (
    ALL,
    DEFAULT_LEVEL,
    DEFAULT_METRIC,
    TAG_KEY,
    TAG_STATUS,
    anomaly_frame,
    cost_frame,
    validate_query,
)
from analytics.local.store import LocalStore

_COLUMN = {"UnblendedCost": "unblended_usd", "AmortizedCost": "amortized_usd"}
#: Days of history the forecast reads: 7 complete days plus the last 1st of a month.
_FORECAST_LOOKBACK = 40
#: An anomaly event lasts at most a few days: read this much beyond the range to see it whole.
_ANOMALY_MARGIN = 7


@dataclass
class _Event:
    """A run of consecutive flagged days of one service and tag."""

    first: date
    last: date
    service: str
    tag: str
    actual: float
    expected: float


class LocalCosts:
    """Answers from the ``cost_items`` table the cost simulator keeps complete."""

    def __init__(self, *, store: LocalStore) -> None:
        self.store = store

    def _cost_cursor(self) -> duckdb.DuckDBPyConnection:
        return self.store.cursor()

    def get_cost_and_usage(self, start: date, end: date, *, granularity: str = "DAILY",
                           metric: str = DEFAULT_METRIC,
                           group_by: Sequence[str] = ("SERVICE", "TAG")) -> pd.DataFrame:
        """Costs over ``[start, end)`` per day or month, grouped by service and/or tag."""
        validate_query(start, end, granularity=granularity, metric=metric, group_by=group_by)
        period = "day" if granularity == "DAILY" else \
            "greatest(date_trunc('month', day)::DATE, $start::DATE)"
        service = "service" if "SERVICE" in group_by else f"'{ALL}'"
        tag = "app_tag" if "TAG" in group_by else f"'{ALL}'"
        sql = f"""
            SELECT {period} AS p, {service} AS s, {tag} AS t, sum({_COLUMN[metric]}) AS amount
            FROM cost_items WHERE day >= $start AND day < $end
            GROUP BY p, s, t
        """
        rows = self._cost_cursor().execute(
            sql, {"start": start, "end": end}).fetchall()
        frame = cost_frame((p, s, t, float(a), False) for p, s, t, a in rows)
        if "TAG" in group_by:
            frame.attrs[TAG_STATUS] = self.cost_allocation_tag_status(TAG_KEY)
        return frame

    def _daily_totals(self, start: date, end: date, metric: str, tag: str | None) -> pd.Series:
        where = "" if tag is None else "AND app_tag = $tag"
        params: dict[str, object] = {"start": start, "end": end}
        if tag is not None:
            params["tag"] = tag
        rows = self._cost_cursor().execute(
            f"SELECT day, sum({_COLUMN[metric]}) FROM cost_items "
            f"WHERE day >= $start AND day < $end {where} GROUP BY day ORDER BY day",
            params).fetchall()
        return pd.Series({d: float(v) for d, v in rows}, dtype="float64")

    def get_cost_forecast(self, start: date, end: date, *, metric: str = DEFAULT_METRIC,
                          tag: str | None = None, level: int = DEFAULT_LEVEL) -> Forecast | None:
        """Forecast of ``[start, end)`` for one ``Application`` tag (None: the whole account)."""
        validate_query(start, end, granularity="DAILY", metric=metric, group_by=())
        z_for_level(level)
        daily = self._daily_totals(start - timedelta(days=_FORECAST_LOOKBACK), start, metric, tag)
        return simple_forecast(daily, start, end, level=level)

    def get_cost_anomalies(self, start: date, end: date) -> pd.DataFrame:
        """The simulator's flagged items as events (one per run of consecutive days of one
        service and tag) overlapping ``[start, end)``, with their full dates."""
        validate_query(start, end, granularity="DAILY", metric=DEFAULT_METRIC, group_by=())
        # Read a margin either side so an event overlapping the range keeps its true dates.
        rows = self._cost_cursor().execute(
            "SELECT day, service, app_tag, unblended_usd, expected_usd FROM cost_items "
            "WHERE anomaly AND day >= $start AND day < $end ORDER BY app_tag, service, day",
            {"start": start - timedelta(days=_ANOMALY_MARGIN),
             "end": end + timedelta(days=_ANOMALY_MARGIN)}).fetchall()
        events: list[_Event] = []
        for day, service, tag, actual, expected in rows:
            last = events[-1] if events else None
            if last and (last.service, last.tag) == (service, tag) and \
                    last.last == day - timedelta(days=1):
                last.last = day
                last.actual += float(actual)
                last.expected += float(expected)
            else:
                events.append(_Event(day, day, service, tag, float(actual), float(expected)))
        out = []
        for ev in events:
            if ev.last < start or ev.first >= end:
                continue
            impact = ev.actual - ev.expected
            # Cost Anomaly Detection reports the end date as the last anomalous day.
            out.append((f"local-{ev.tag}-{ev.first}", ev.first, ev.last, ev.service, ev.tag,
                        ev.actual, ev.expected, impact,
                        impact / ev.expected * 100.0 if ev.expected else 0.0,
                        min(1.0, impact / max(ev.actual, 1e-9))))
        return anomaly_frame(out)

    def cost_allocation_tag_status(self, key: str) -> str | None:
        """The simulator's line items carry the tag as if it had always been active."""
        return "Active"
