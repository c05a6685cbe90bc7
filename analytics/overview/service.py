"""The Overview page's data: per app, five tiles with sparklines and the previous window.

Every app's queries, the current window *and* the previous one, go out as one metrics fetch;
the window p95 is asked for as one bucket per window, because percentiles of buckets do not add
up to the percentile of the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import pandas as pd

from analytics.alarms.service import firing_counts
from analytics.alarms.source import HasAlarms
from analytics.core import access
from analytics.core.catalog import App
from analytics.core.periods import TimeRange
from analytics.core.runtime import RuntimeOf
from analytics.metrics.frames import bucket_sum
from analytics.metrics.queries import MetricQuery, api_query, lambda_query
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics


class OverviewSources(HasMetrics, HasAlarms, Protocol):
    """The sources the Overview reads."""


OverviewRuntime = RuntimeOf[OverviewSources]

#: Label of the one-bucket-per-window latency query (kept apart from the sparkline's p95).
WINDOW_LATENCY = "Latency (window)"

@dataclass(frozen=True)
class Tile:
    """One number of the Overview with its sparkline and the previous window's value."""

    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str
    spark: pd.Series = field(compare=False)
    lower_is_better: bool = True
    help: str = ""

    @property
    def change_pct(self) -> float | None:
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous) * 100.0


@dataclass(frozen=True)
class AppOverview:
    app: App
    tiles: list[Tile]

    def tile(self, key: str) -> Tile:
        return next(t for t in self.tiles if t.key == key)


def overview_queries(apps: Sequence[App], tr: TimeRange) -> list[MetricQuery]:
    """Every query of the Overview page for ``apps``: one backend call in all."""
    p, whole = tr.period, tr.seconds
    out: list[MetricQuery] = []
    for app in apps:
        for api in app.resources.apis:
            out += [
                api_query(app.id, api, "Count", stat="Sum", period=p),
                api_query(app.id, api, "5XXError", stat="Sum", period=p),
                api_query(app.id, api, "Latency", stat="p95", period=p),
                # One bucket per window: the true p95 of each window (percentiles don't add).
                replace(api_query(app.id, api, "Latency", stat="p95", period=whole),
                        metric=WINDOW_LATENCY),
            ]
        for fn in app.resources.lambdas:
            out += [lambda_query(app.id, fn, "Errors", stat="Sum", period=p),
                    lambda_query(app.id, fn, "Throttles", stat="Sum", period=p)]
    return out


def _split(s: pd.Series, tr: TimeRange) -> tuple[pd.Series, pd.Series]:
    start = pd.Timestamp(tr.start)
    return s[s.index < start], s[s.index >= start]


def _total(s: pd.Series) -> float | None:
    return float(s.sum()) if len(s) else None


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den * 100.0


def build_app_overview(app: App, frame: pd.DataFrame, tr: TimeRange) -> AppOverview:
    """The app's tiles from the page's frame (all apps' rows, or only this app's)."""
    f = frame[frame["app"] == app.id]
    parts = dict(iter(f.groupby(["metric", "stat"], sort=False)))  # one pass, not one per tile
    empty = f.iloc[:0]

    def pick(metric: str, stat: str) -> pd.DataFrame:
        return parts.get((metric, stat), empty)

    requests = bucket_sum(pick("Count", "Sum"))
    errors5 = bucket_sum(pick("5XXError", "Sum"))
    prev_req, cur_req = _split(requests, tr)
    prev_e5, cur_e5 = _split(errors5, tr)
    rate = (errors5.reindex(requests.index, fill_value=0.0) / requests.where(requests > 0)
            * 100.0).dropna()
    p95_series = pick("Latency", "p95").groupby("timestamp")["value"].max()
    lam_err = bucket_sum(pick("Errors", "Sum"))
    lam_thr = bucket_sum(pick("Throttles", "Sum"))
    prev_le, cur_le = _split(lam_err, tr)
    prev_lt, cur_lt = _split(lam_thr, tr)
    p95_prev, p95_cur = _window_p95(pick(WINDOW_LATENCY, "p95"), tr)
    tiles = [
        Tile("requests", "Requests", _total(cur_req), _total(prev_req), "",
             cur_req, lower_is_better=False, help="API Gateway Count, all APIs"),
        Tile("error_rate", "5xx error rate", _ratio(_total(cur_e5), _total(cur_req)),
             _ratio(_total(prev_e5), _total(prev_req)), "%", _split(rate, tr)[1],
             help="5xx responses / requests, all APIs"),
        Tile("p95", "p95 latency", p95_cur, p95_prev, "ms",
             _split(p95_series.sort_index(), tr)[1],
             help=f"API Gateway Latency p95 over the window (worst API); "
                  f"SLO {app.slo_p95_ms:g} ms"),
        Tile("lambda_errors", "Lambda errors", _total(cur_le), _total(prev_le), "", cur_le,
             help="Errors, all functions"),
        Tile("throttles", "Lambda throttles", _total(cur_lt), _total(prev_lt), "", cur_lt,
             help="Throttles, all functions"),
    ]
    return AppOverview(app, tiles)


def _window_p95(whole: pd.DataFrame, tr: TimeRange) -> tuple[float | None, float | None]:
    """Worst API p95 of the previous and current windows from the one-bucket-per-window query."""
    prev_ts, cur_ts = pd.Timestamp(tr.previous().start), pd.Timestamp(tr.start)
    at_prev = whole[whole["timestamp"] == prev_ts]["value"]
    at_cur = whole[whole["timestamp"] == cur_ts]["value"]
    return (float(at_prev.max()) if len(at_prev) else None,
            float(at_cur.max()) if len(at_cur) else None)


@dataclass(frozen=True)
class OverviewResult:
    apps: list[AppOverview]
    fetched_at: float
    stale: bool
    error: str | None
    #: Alarms in ALARM per app; an app whose alarms cannot be read right now is absent.
    firing: dict[str, int] = field(default_factory=dict)


def overview(rt: OverviewRuntime, *, apps: Sequence[App], tr: TimeRange) -> OverviewResult:
    """The Overview page's data for those of ``apps`` the current user may see."""
    apps = access.filter_apps(apps)
    queries = overview_queries(apps, tr)
    cached = fetch_metrics(rt, queries, start=tr.previous().start, end=tr.end)
    frame = cached.value
    by_app = dict(iter(frame.groupby("app", sort=False)))  # one split, not a scan per app
    empty = frame.iloc[:0]
    return OverviewResult([build_app_overview(a, by_app.get(a.id, empty), tr) for a in apps],
                          cached.fetched_at,
                          cached.stale, cached.error, firing_counts(rt, apps))
