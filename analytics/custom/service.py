"""Custom business metrics for every page, the API and the pipeline: cached, access-filtered.

Reads aggregate the raw points per period like CloudWatch (buckets start at ``start``, absent
buckets are absent; Average/Sum/Minimum/Maximum/SampleCount and any ``pNN`` percentile with
linear interpolation), one series per dimension set: ``resource`` is the canonical dimension
string (``"Plan=pro"``, ``""`` for a metric sent without dimensions). Every entry point goes
through :mod:`analytics.core.access` and the shared cache (stale-on-error, single flight), so 50
tabs refreshing the Realtime page make one upstream call per TTL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from analytics.core import access
from analytics.core.cache import Cached
from analytics.core.catalog import App
from analytics.core.periods import as_utc
from analytics.core.runtime import RuntimeOf
from analytics.custom.keys import (
    FUTURE_MS,
    MAX_BUCKETS,
    METRIC_NAME_RE,
    SUMMED_UNITS,
    canonical_dims,
    validate_period,
)
from analytics.custom.source import HasCustom
from analytics.metrics.queries import validate_stat

CustomRuntime = RuntimeOf[HasCustom]


def _ms(ts: datetime) -> int:
    return int(as_utc(ts).timestamp() * 1000)


def list_custom_metrics(rt: CustomRuntime, app_id: str) -> list[str]:
    """Names of ``app_id``'s custom metrics, cached as long as the source says a listing stays
    true (2 s locally, so a new name reaches Realtime at once; 5 minutes on aws); stale on a
    failed refresh."""
    app = access.visible_app(rt.catalog, app_id)
    source = rt.sources.custom
    return list(rt.cache.get("discovery", ("custom_metric_names", app_id),
                             lambda: source.metric_names(app), ttl=source.listing_ttl_s).value)


def custom_metric_series(rt: CustomRuntime, app_id: str, metric_name: str, *, start: datetime,
                         end: datetime, period: int, stat: str = "Average",
                         dims: Mapping[str, str] | None = None,
                         dims_in: Sequence[str] | None = None,
                         kind: str = "custom_metrics") -> Cached[pd.DataFrame]:
    """Tidy frame (timestamp, app, resource, metric, stat, value) of one custom metric.

    One series per dimension set (``resource`` = canonical dimensions) unless ``dims`` picks
    one (exact match, as a CloudWatch metric is its name plus its full dimension set; ``{}`` is
    the dimensionless series); ``dims_in`` keeps only those canonical dimension strings.
    ``kind="live"`` uses the Realtime page's 1-second TTL.
    Cached by (app, metric, range, period, stat, dims): pass aligned ``start``/``end``.
    """
    access.visible_app(rt.catalog, app_id)
    if not isinstance(metric_name, str) or not METRIC_NAME_RE.fullmatch(metric_name):
        raise ValueError(f"invalid metric name {metric_name!r}")
    validate_stat(stat)
    validate_period(period)
    start_ms, end_ms = _ms(start), _ms(end)
    if end_ms <= start_ms:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    if (end_ms - start_ms) / (period * 1000) > MAX_BUCKETS:
        raise ValueError(f"{period} s buckets over this range exceed {MAX_BUCKETS:,} points; "
                         "choose a longer period")
    canonical = None if dims is None else canonical_dims(dims)
    only = None if dims_in is None else tuple(sorted(set(dims_in)))
    key = (app_id, metric_name, start_ms, end_ms, period, stat, canonical, only)
    # dims_in is passed only when used, so a source written before it existed still answers
    extra = {} if only is None else {"dims_in": only}
    return rt.cache.get(kind, key, lambda: rt.sources.custom.metric_stats(
        app_id, metric_name, start_ms=start_ms, end_ms=end_ms, period=period, stat=stat,
        dims=canonical, now_ms=_now_ms(rt), **extra))


@dataclass(frozen=True)
class MetricLatest:
    """The newest datapoint of one metric in the window and its share of the points."""

    metric: str
    last_ts_ms: int
    points: int
    unit: str | None


@dataclass(frozen=True)
class LatestPoints:
    """Freshness of an app's custom metrics since ``since_ms``: the last datapoint time and the
    measured ingest lag (``receivedAt - timestamp``) percentiles, in milliseconds."""

    app: str
    since_ms: int
    metrics: tuple[MetricLatest, ...]
    points: int
    last_ts_ms: int | None
    lag_p50_ms: float | None
    lag_p95_ms: float | None
    #: (metric, canonical dimensions, datapoints) in the window: what "top by volume" ranks.
    series_points: tuple[tuple[str, str, int], ...] = ()

    def age_s(self, now: float) -> float | None:
        """Seconds from the last datapoint to ``now`` (computed at draw time, not fetch time)."""
        if self.last_ts_ms is None:
            return None
        return max(0.0, now - self.last_ts_ms / 1000)

    def unit_of(self, metric: str) -> str | None:
        return next((m.unit for m in self.metrics if m.metric == metric), None)

    def points_of(self, metric: str) -> int:
        return next((m.points for m in self.metrics if m.metric == metric), 0)


def summarize_recent(app_id: str, since_ms: int, recent: pd.DataFrame) -> LatestPoints:
    """:class:`LatestPoints` from raw recent points (columns: ``keys.RECENT_COLUMNS``)."""
    if recent.empty:
        return LatestPoints(app_id, since_ms, (), 0, None, None, None)
    lag = (recent["received_ms"].astype("int64") - recent["ts_ms"].astype("int64")).to_numpy()
    per = []
    for metric, grp in recent.groupby("metric", sort=True):
        units = grp["unit"].dropna()
        per.append(MetricLatest(str(metric), int(grp["ts_ms"].max()), len(grp),
                                str(units.iloc[-1]) if len(units) else None))
    counts = recent.groupby(["metric", "dims"], sort=True).size().reset_index(name="n")
    series = tuple((str(m), str(d), int(n)) for m, d, n in counts.itertuples(index=False))
    return LatestPoints(app_id, since_ms, tuple(per), len(recent), int(recent["ts_ms"].max()),
                        float(np.percentile(lag, 50)), float(np.percentile(lag, 95)), series)


def latest_points(rt: CustomRuntime, app_id: str, *, since: datetime,
                  kind: str = "live") -> Cached[LatestPoints]:
    """Last datapoint time and ingest lag p50/p95 of ``app_id``'s custom metrics since ``since``.

    Cached by (app, since) with the Realtime TTL: pass an aligned ``since`` so viewers share it.
    """
    app = access.visible_app(rt.catalog, app_id)
    since_ms = _ms(since)

    def load() -> LatestPoints:
        names = list_custom_metrics(rt, app_id)
        now = _now_ms(rt)
        recent = rt.sources.custom.recent_points(app.id, names, since_ms=since_ms,
                                                 until_ms=now + FUTURE_MS, now_ms=now)
        return summarize_recent(app.id, since_ms, recent)

    return rt.cache.get(kind, ("custom_latest", app_id, since_ms), load)


def default_stat(app: App, metric: str, unit: str | None) -> str:
    """The statistic a chart of ``metric`` shows by default: events and volumes add up per
    period (Sum); gauges such as the app's active users, rates and durations average."""
    if metric == app.mau_metric:
        return "Average"
    return "Sum" if unit in SUMMED_UNITS else "Average"


def _now_ms(rt: CustomRuntime) -> int:
    return int(rt.clock() * 1000)


