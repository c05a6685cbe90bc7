"""The Realtime page's data: the last minutes of one app, service and custom metrics together.

Every read goes through the cache on keys aligned to the minute, so any number of open tabs
refreshing every 2 s costs one upstream call per query per TTL: 2 s for the service metrics
(CloudWatch bills each one), 1 s for the custom metrics, which the ingest path writes a moment
before (kind ``live``). The window includes the current, partial minute.

However many series an app sends, a refresh draws at most :data:`MAX_CHARTS` custom charts and
:data:`MAX_SERIES` lines per chart, the busiest in the window (datapoints), and reads only
those: a flood of names or dimension sets costs a longer list in a picker, not a slower page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import pandas as pd

from analytics.core import access
from analytics.core.cache import Cached
from analytics.core.catalog import App
from analytics.core.periods import align_up
from analytics.core.runtime import RuntimeOf
from analytics.custom.service import (
    LatestPoints,
    custom_metric_series,
    default_stat,
    latest_points,
    list_custom_metrics,
)
from analytics.custom.source import HasCustom
from analytics.metrics.frames import bucket_sum, series
from analytics.metrics.queries import api_query, lambda_query, validate_stat
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics


class RealtimeSources(HasMetrics, HasCustom, Protocol):
    """The sources the Realtime page reads."""


RealtimeRuntime = RuntimeOf[RealtimeSources]

REALTIME_MINUTES = 15
SERVICE_PERIOD = 60
CUSTOM_PERIOD = 10
#: Custom charts drawn per refresh (the app's MAU metric first, then by datapoints).
MAX_CHARTS = 12
#: Lines per custom chart (dimension sets, by datapoints in the window).
MAX_SERIES = 8


@dataclass(frozen=True)
class Panel:
    """One chart: named lines (timestamp-indexed series) sharing a unit."""

    key: str
    title: str
    unit: str
    lines: dict[str, pd.Series]
    help: str = ""
    hidden_series: int = 0  # dimension sets with data in the window that are not drawn

    @property
    def empty(self) -> bool:
        return all(s.empty for s in self.lines.values())


@dataclass(frozen=True)
class RealtimeView:
    """Everything the Realtime page draws for one app, with the provenance of its oldest part."""

    app: App
    start: datetime
    end: datetime
    service: list[Panel]
    custom: list[Panel]
    latest: LatestPoints
    fetched_at: float
    stale: bool
    error: str | None
    #: Custom metrics not drawn (fewer datapoints than the charts shown), busiest first.
    hidden_metrics: list[str] = field(default_factory=list)


def realtime_window(now: datetime, *, minutes: int = REALTIME_MINUTES,
                    period: int = SERVICE_PERIOD) -> tuple[datetime, datetime]:
    """``[start, end)`` covering the last ``minutes`` *including* the current partial period,
    aligned to ``period`` so every viewer in the same minute shares the cache keys."""
    end = align_up(now + timedelta(microseconds=1), period)
    return end - timedelta(minutes=minutes), end


def _by_resource(frame: pd.DataFrame, label_empty: str) -> dict[str, pd.Series]:
    lines: dict[str, pd.Series] = {}
    for resource, grp in frame.groupby("resource", sort=True):
        lines[str(resource) or label_empty] = grp.set_index("timestamp")["value"].sort_index()
    return lines


def _service_panels(app: App, frame: pd.DataFrame) -> list[Panel]:
    f = frame[frame["app"] == app.id]
    return [
        Panel("requests", "Requests per minute", "requests",
              _by_resource(series(f, metric="Count", stat="Sum"), "all"),
              "API Gateway Count, per API"),
        Panel("5xx", "5xx errors per minute", "errors",
              _by_resource(series(f, metric="5XXError", stat="Sum"), "all"),
              "API Gateway 5XXError (5xx on HTTP APIs), per API"),
        Panel("p95", "p95 latency", "ms",
              _by_resource(series(f, metric="Latency", stat="p95"), "all"),
              f"API Gateway Latency p95 per minute, per API; SLO {app.slo_p95_ms:g} ms"),
        Panel("lambda", "Lambda errors and throttles per minute", "count", {
            "errors": bucket_sum(series(f, metric="Errors", stat="Sum")),
            "throttles": bucket_sum(series(f, metric="Throttles", stat="Sum")),
        }, "Errors and Throttles, all functions"),
    ]


def _charted(app: App, names: list[str], latest: LatestPoints, *, more: Sequence[str],
             max_charts: int) -> tuple[list[str], list[str]]:
    """(names to draw, names left out): the MAU metric, then the busiest; ``more`` on top."""
    ranked = sorted(names, key=lambda n: (n != app.mau_metric, -latest.points_of(n), n))
    shown = ranked[:max_charts]
    shown += [n for n in more if n in names and n not in shown]
    return shown, [n for n in ranked if n not in shown]


def _busiest_series(latest: LatestPoints, metric: str, *, dims_filter: str,
                    max_series: int) -> tuple[list[str] | None, int]:
    """(dimension sets to read, how many with data are left out); None reads every set."""
    counts = [(n, d) for m, d, n in latest.series_points
              if m == metric and (not dims_filter or dims_filter.lower() in d.lower())]
    if not dims_filter and len(counts) <= max_series:
        return None, 0
    counts.sort(key=lambda c: (-c[0], c[1]))
    return [d for _, d in counts[:max_series]], max(0, len(counts) - max_series)


def realtime_view(rt: RealtimeRuntime, app_id: str, *, now: datetime | None = None,
                  stat: str | None = None, minutes: int = REALTIME_MINUTES,
                  custom_period: int = CUSTOM_PERIOD, more: Sequence[str] = (),
                  dims_filter: str = "", max_charts: int = MAX_CHARTS,
                  max_series: int = MAX_SERIES) -> RealtimeView:
    """The last ``minutes`` of ``app_id``: key service metrics (1-minute) and the busiest
    custom metrics (``custom_period`` buckets, ``stat`` or each metric's :func:`default_stat`),
    plus freshness. ``more`` names metrics to draw beyond the busiest ``max_charts``;
    ``dims_filter`` keeps dimension sets containing that text (the busiest ``max_series``).

    Every read goes through the cache (``realtime`` 2 s, ``live`` 1 s) on aligned keys, so any
    number of open tabs refreshing every 2 s costs one upstream call per query per TTL.
    """
    app = access.visible_app(rt.catalog, app_id)
    if stat is not None:
        validate_stat(stat)
    start, end = realtime_window(now or rt.now(), minutes=minutes)
    queries = [
        api_query(app.id, api, m, stat=s, period=SERVICE_PERIOD)
        for api in app.resources.apis
        for m, s in (("Count", "Sum"), ("5XXError", "Sum"), ("Latency", "p95"))
    ]
    queries += [lambda_query(app.id, fn, m, stat="Sum", period=SERVICE_PERIOD)
                for fn in app.resources.lambdas for m in ("Errors", "Throttles")]
    metrics = fetch_metrics(rt, queries, start=start, end=end, kind="realtime")
    service = _service_panels(app, metrics.value)
    latest = latest_points(rt, app.id, since=start)
    parts: list[Cached[object]] = [metrics, latest]
    shown, hidden = _charted(app, list_custom_metrics(rt, app.id), latest.value, more=more,
                             max_charts=max_charts)
    custom = []
    for name in shown:
        unit = latest.value.unit_of(name)
        chosen = stat or default_stat(app, name, unit)
        only, left_out = _busiest_series(latest.value, name, dims_filter=dims_filter,
                                         max_series=max_series)
        got = custom_metric_series(rt, app.id, name, start=start, end=end,
                                   period=custom_period, stat=chosen, kind="live",
                                   dims_in=only)
        parts.append(got)
        custom.append(Panel(f"custom:{name}", f"{name} · {chosen} per {custom_period} s",
                            unit or "", _by_resource(got.value, name),
                            f"Custom metric {name} of {app.display_name}, one line per "
                            "dimension set", hidden_series=left_out))
    stale = [p for p in parts if p.stale]
    return RealtimeView(app, start, end, service, custom, latest.value,
                        min(p.fetched_at for p in parts), bool(stale),
                        stale[0].error if stale else None, hidden)
