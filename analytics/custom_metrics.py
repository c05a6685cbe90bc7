"""Custom business metrics (pushed through the ingest API): queries for every page, both backends.

Storage is the ingest Lambda's table layout on both backends (DynamoDB on aws, the
``custom_metrics`` DuckDB table locally): partition ``metricId = "<app>#<metricName>"``, sort key
``ts_ms * 10**20 + hash(dimensions)``, raw datapoints with ``receivedAt`` and a ``ttl``. Reads
aggregate the raw points per period like CloudWatch (buckets start at ``start``, absent buckets
are absent; Average/Sum/Minimum/Maximum/SampleCount and any ``pNN`` percentile with linear
interpolation), one series per dimension set: ``resource`` is the canonical dimension string
(``"Plan=pro"``, ``""`` for a metric sent without dimensions).

Every entry point goes through :mod:`analytics.access` and the shared cache (stale-on-error,
single flight), so 50 tabs refreshing the Realtime page make one upstream call per TTL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from analytics import access
from analytics.backends.base import empty_tidy, tidy
from analytics.cache import Cached
from analytics.catalog import App
from analytics.metrics import bucket_sum, fetch_metrics, series
from analytics.periods import align_up, as_utc, utcnow
from analytics.runtime import Runtime
from analytics.specs import api_query, lambda_query, percentile_of, validate_stat

#: Same constants and rules as ``infra/functions/ingest/ingest_keys.py`` (the dashboard image
#: does not ship the Lambda's code; tests/custom assert the two agree).
SORT_KEY_SHIFT = 10**20
METRIC_NAME_RE = re.compile(r"[A-Za-z0-9_.:/#-]{1,255}")
#: Periods below a minute, as CloudWatch allows for high-resolution metrics.
HIGH_RES_PERIODS = (1, 5, 10, 30)
#: At most this many buckets per series and query (GetMetricData's datapoint page).
MAX_BUCKETS = 100_800
#: Timestamps may be up to 5 minutes ahead (the ingest contract), so "latest" looks that far.
FUTURE_MS = 5 * 60_000
#: Listing is metadata: refreshed every 5 minutes, not every refresh.
LIST_TTL_S = 300.0
RECENT_COLUMNS = ["metric", "dims", "ts_ms", "received_ms", "unit"]
#: Units whose natural per-period statistic is a Sum (events, volumes); others average.
SUMMED_UNITS = frozenset({"Count", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
                          "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits"})


def sort_key_range(start_ms: int, end_ms: int) -> tuple[int, int]:
    """Inclusive sort-key bounds covering every dimension set with ``start_ms <= ts <= end_ms``."""
    return start_ms * SORT_KEY_SHIFT, (end_ms + 1) * SORT_KEY_SHIFT - 1


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def canonical_dims(dims: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """The stored ``dims`` string of a dimension set (sorted by name, ``\\ , =`` escaped)."""
    pairs = dims.items() if isinstance(dims, Mapping) else dims
    return ",".join(f"{_escape(str(n))}={_escape(str(v))}" for n, v in sorted(pairs))


@runtime_checkable
class CustomMetricsSource(Protocol):
    """What a backend answers about custom metrics (``AwsCustomMixin``, ``LocalCustomMixin``)."""

    def custom_metric_names(self, app: App) -> list[str]:
        """Names of the app's custom metrics, sorted."""
        ...

    def custom_metric_stats(self, app_id: str, metric_name: str, start_ms: int, end_ms: int,
                            period: int, stat: str, dims: str | None,
                            now_ms: int) -> pd.DataFrame:
        """Tidy frame of ``stat`` per period bucket and dimension set over ``[start, end)``;
        ``dims`` (a canonical string) keeps only that dimension set; TTL-expired points are
        ignored."""
        ...

    def custom_recent_points(self, app_id: str, metric_names: Sequence[str], since_ms: int,
                             until_ms: int, now_ms: int) -> pd.DataFrame:
        """Raw points (:data:`RECENT_COLUMNS`) of those metrics with ``since <= ts <= until``."""
        ...


def _source(rt: Runtime) -> CustomMetricsSource:
    backend = rt.backend
    if not isinstance(backend, CustomMetricsSource):
        raise TypeError(f"backend {backend.name!r} does not serve custom metrics")
    return backend


def _app(rt: Runtime, app_id: str) -> App:
    access.require(app_id)
    try:
        return rt.catalog.get(app_id)
    except KeyError:
        raise ValueError(f"unknown application {app_id!r}; the catalog has "
                         f"{rt.catalog.ids()}") from None


def validate_period(period: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0 or (
            period not in HIGH_RES_PERIODS and period % 60):
        raise ValueError(f"period must be one of {HIGH_RES_PERIODS} s or a positive multiple of "
                         f"60 s, got {period!r}")
    return period


def _ms(ts: datetime) -> int:
    return int(as_utc(ts).timestamp() * 1000)


def list_custom_metrics(rt: Runtime, app_id: str) -> list[str]:
    """Names of ``app_id``'s custom metrics (cached 5 minutes; stale on a failed refresh)."""
    app = _app(rt, app_id)
    return list(rt.cache.get("discovery", ("custom_metric_names", app_id),
                             lambda: _source(rt).custom_metric_names(app), ttl=LIST_TTL_S).value)


def custom_metric_series(rt: Runtime, app_id: str, metric_name: str, start: datetime,
                         end: datetime, period: int, stat: str = "Average",
                         dims: Mapping[str, str] | None = None,
                         kind: str = "custom_metrics") -> Cached[pd.DataFrame]:
    """Tidy frame (timestamp, app, resource, metric, stat, value) of one custom metric.

    One series per dimension set (``resource`` = canonical dimensions) unless ``dims`` picks
    one (exact match, as a CloudWatch metric is its name plus its full dimension set; ``{}`` is
    the dimensionless series). ``kind="realtime"`` uses the Realtime page's 2-second TTL.
    Cached by (app, metric, range, period, stat, dims): pass aligned ``start``/``end``.
    """
    _app(rt, app_id)
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
    key = (app_id, metric_name, start_ms, end_ms, period, stat, canonical)
    return rt.cache.get(kind, key, lambda: _source(rt).custom_metric_stats(
        app_id, metric_name, start_ms, end_ms, period, stat, canonical, _now_ms()))


def aggregate_points(points: pd.DataFrame, app_id: str, metric_name: str, start_ms: int,
                     period: int, stat: str) -> pd.DataFrame:
    """Raw points (ts_ms, dims, value) -> tidy ``stat`` per bucket and dimension set.

    The aws backend aggregates with this; the local one does the same in SQL.
    """
    if points.empty:
        return empty_tidy()
    width = period * 1000
    frame = points.assign(bucket=(points["ts_ms"].astype("int64") - start_ms) // width)
    grouped = frame.groupby(["dims", "bucket"])["value"]
    q = percentile_of(stat)
    if q is not None:
        values = grouped.quantile(q / 100.0)
    else:
        how = {"Average": "mean", "Sum": "sum", "Minimum": "min", "Maximum": "max",
               "SampleCount": "size"}[stat]
        values = grouped.agg(how)
    rows = [(pd.Timestamp(start_ms + int(b) * width, unit="ms", tz="UTC"), app_id, d,
             metric_name, stat, float(v)) for (d, b), v in values.items()]
    return tidy(rows)


# --- latest datapoint and ingest lag --------------------------------------------------------

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

    def age_s(self, now: float | None = None) -> float | None:
        """Seconds from the last datapoint to ``now`` (computed at draw time, not fetch time)."""
        if self.last_ts_ms is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.last_ts_ms / 1000)

    def unit_of(self, metric: str) -> str | None:
        return next((m.unit for m in self.metrics if m.metric == metric), None)


def summarize_recent(app_id: str, since_ms: int, recent: pd.DataFrame) -> LatestPoints:
    """Build :class:`LatestPoints` from raw recent points (:data:`RECENT_COLUMNS`)."""
    if recent.empty:
        return LatestPoints(app_id, since_ms, (), 0, None, None, None)
    lag = (recent["received_ms"].astype("int64") - recent["ts_ms"].astype("int64")).to_numpy()
    per = []
    for metric, grp in recent.groupby("metric", sort=True):
        units = grp["unit"].dropna()
        per.append(MetricLatest(str(metric), int(grp["ts_ms"].max()), len(grp),
                                str(units.iloc[-1]) if len(units) else None))
    return LatestPoints(app_id, since_ms, tuple(per), len(recent), int(recent["ts_ms"].max()),
                        float(np.percentile(lag, 50)), float(np.percentile(lag, 95)))


def latest_points(rt: Runtime, app_id: str, since: datetime,
                  kind: str = "realtime") -> Cached[LatestPoints]:
    """Last datapoint time and ingest lag p50/p95 of ``app_id``'s custom metrics since ``since``.

    Cached by (app, since) with the Realtime TTL: pass an aligned ``since`` so viewers share it.
    """
    app = _app(rt, app_id)
    since_ms = _ms(since)

    def load() -> LatestPoints:
        names = list_custom_metrics(rt, app_id)
        now = _now_ms()
        recent = _source(rt).custom_recent_points(app.id, names, since_ms, now + FUTURE_MS, now)
        return summarize_recent(app.id, since_ms, recent)

    return rt.cache.get(kind, ("custom_latest", app_id, since_ms), load)


def default_stat(app: App, metric: str, unit: str | None) -> str:
    """The statistic a chart of ``metric`` shows by default: events and volumes add up per
    period (Sum); gauges such as the app's active users, rates and durations average."""
    if metric == app.mau_metric:
        return "Average"
    return "Sum" if unit in SUMMED_UNITS else "Average"


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- the Realtime page's data ---------------------------------------------------------------

REALTIME_MINUTES = 15
SERVICE_PERIOD = 60
CUSTOM_PERIOD = 10


@dataclass(frozen=True)
class Panel:
    """One chart: named lines (timestamp-indexed series) sharing a unit."""

    key: str
    title: str
    unit: str
    lines: dict[str, pd.Series]
    help: str = ""

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


def realtime_window(now: datetime | None = None, minutes: int = REALTIME_MINUTES,
                    period: int = SERVICE_PERIOD) -> tuple[datetime, datetime]:
    """``[start, end)`` covering the last ``minutes`` *including* the current partial period,
    aligned to ``period`` so every viewer in the same minute shares the cache keys."""
    end = align_up((now or utcnow()) + timedelta(microseconds=1), period)
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


def realtime_view(rt: Runtime, app_id: str, now: datetime | None = None,
                  stat: str | None = None, minutes: int = REALTIME_MINUTES,
                  custom_period: int = CUSTOM_PERIOD) -> RealtimeView:
    """The last ``minutes`` of ``app_id``: key service metrics (1-minute) and every custom metric
    (``custom_period`` buckets, ``stat`` or each metric's :func:`default_stat`), plus freshness.

    Every read goes through the cache with the ``realtime`` TTL (2 s) on aligned keys, so any
    number of open tabs refreshing every 2 s costs one upstream call per query per TTL.
    """
    app = _app(rt, app_id)
    if stat is not None:
        validate_stat(stat)
    start, end = realtime_window(now, minutes)
    queries = [api_query(app.id, api, m, s, SERVICE_PERIOD) for api in app.resources.apis
               for m, s in (("Count", "Sum"), ("5XXError", "Sum"), ("Latency", "p95"))]
    queries += [lambda_query(app.id, fn, m, "Sum", SERVICE_PERIOD)
                for fn in app.resources.lambdas for m in ("Errors", "Throttles")]
    parts: list[Cached[object]] = [fetch_metrics(rt, queries, start, end, kind="realtime")]
    service = _service_panels(app, parts[0].value)  # type: ignore[arg-type]
    latest = latest_points(rt, app.id, start)
    parts.append(latest)
    names = list_custom_metrics(rt, app.id)
    names.sort(key=lambda n: (n != app.mau_metric, n))
    custom = []
    for name in names:
        unit = latest.value.unit_of(name)
        chosen = stat or default_stat(app, name, unit)
        got = custom_metric_series(rt, app.id, name, start, end, custom_period, chosen,
                                   kind="realtime")
        parts.append(got)
        custom.append(Panel(f"custom:{name}", f"{name} · {chosen} per {custom_period} s",
                            unit or "", _by_resource(got.value, name),
                            f"Custom metric {name} of {app.display_name}, one line per "
                            "dimension set"))
    stale = [p for p in parts if p.stale]
    return RealtimeView(app, start, end, service, custom, latest.value,
                        min(p.fetched_at for p in parts), bool(stale),
                        stale[0].error if stale else None)
