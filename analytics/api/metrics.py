"""``getMetrics``: the Performance page's queries for one metric, through the same services.

A metric type names a service metric (built with :mod:`analytics.metrics.queries` over the
app's resources, discovered by tag when the catalog lists none, exactly as the Performance page
does) or ``CUSTOM`` (:func:`analytics.custom.service.custom_metric_series`). The range goes
through :mod:`analytics.core.periods`: AUTO is the pages' own rule; an explicit granularity that
CloudWatch no longer keeps for that age is refused, since CloudWatch would answer it with an
empty series and no error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from analytics.api.errors import ApiError, Code
from analytics.api.inputs import aws_datetime, dimensions_of, instant, text
from analytics.core import access
from analytics.core.catalog import App
from analytics.core.periods import (
    DAY,
    HOUR,
    PeriodError,
    align_down,
    as_utc,
    make_range,
    min_period_for_age,
    period_is_valid,
)
from analytics.core.runtime import RuntimeOf
from analytics.custom.service import custom_metric_series, list_custom_metrics
from analytics.custom.source import HasCustom
from analytics.metrics import queries as q
from analytics.metrics.queries import MetricQuery, validate_stat
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics
from analytics.performance.service import resolve_app
from analytics.performance.source import HasPerformance


class ApiSources(HasMetrics, HasPerformance, HasCustom, Protocol):
    """The sources the metric resolvers read."""


MetricsApiRuntime = RuntimeOf[ApiSources]

#: Buckets per series and in a whole answer: the result-size limits of getMetrics.
MAX_POINTS = 1440
MAX_TOTAL_POINTS = 100_000
MAX_STATISTICS = 10
GRANULARITY_SECONDS = {"MINUTE": 60, "FIVE_MINUTES": 300, "FIFTEEN_MINUTES": 900,
                       "HOUR": HOUR, "SIX_HOURS": 6 * HOUR, "DAY": DAY}


@dataclass(frozen=True)
class Kind:
    """One metric type: which service, which metric, its unit and usual statistics."""

    service: str
    metric: str
    unit: str | None
    stats: tuple[str, ...]


MS, COUNT = "Milliseconds", "Count"
KINDS: dict[str, Kind] = {
    "REQUESTS": Kind("api", "Count", COUNT, ("Sum",)),
    "ERRORS_4XX": Kind("api", "4XXError", COUNT, ("Sum",)),
    "ERRORS_5XX": Kind("api", "5XXError", COUNT, ("Sum",)),
    "LATENCY": Kind("api", "Latency", MS, ("Average", "p50", "p95", "p99")),
    "INTEGRATION_LATENCY": Kind("api", "IntegrationLatency", MS, ("Average", "p95")),
    "LAMBDA_INVOCATIONS": Kind("lambda", "Invocations", COUNT, ("Sum",)),
    "LAMBDA_ERRORS": Kind("lambda", "Errors", COUNT, ("Sum",)),
    "LAMBDA_THROTTLES": Kind("lambda", "Throttles", COUNT, ("Sum",)),
    "LAMBDA_DURATION": Kind("lambda", "Duration", MS, ("Average", "p50", "p95", "p99")),
    "LAMBDA_CONCURRENCY": Kind("lambda", "ConcurrentExecutions", COUNT, ("Maximum",)),
    "DYNAMODB_READ_CAPACITY": Kind("dynamodb", "ConsumedReadCapacityUnits", COUNT, ("Sum",)),
    "DYNAMODB_WRITE_CAPACITY": Kind("dynamodb", "ConsumedWriteCapacityUnits", COUNT, ("Sum",)),
    "DYNAMODB_READ_THROTTLES": Kind("dynamodb", "ReadThrottleEvents", COUNT, ("Sum",)),
    "DYNAMODB_WRITE_THROTTLES": Kind("dynamodb", "WriteThrottleEvents", COUNT, ("Sum",)),
    "DYNAMODB_LATENCY": Kind("dynamodb", "SuccessfulRequestLatency", MS, ("Average", "p95")),
    "RDS_CPU": Kind("rds", "CPUUtilization", "Percent", ("Average", "Maximum")),
    "RDS_CONNECTIONS": Kind("rds", "DatabaseConnections", COUNT, ("Average", "Maximum")),
    "RDS_READ_LATENCY": Kind("rds", "ReadLatency", "Seconds", ("Average",)),
    "RDS_WRITE_LATENCY": Kind("rds", "WriteLatency", "Seconds", ("Average",)),
    "RDS_FREE_STORAGE": Kind("rds", "FreeStorageSpace", "Bytes", ("Minimum",)),
    "S3_BUCKET_SIZE": Kind("s3", "BucketSizeBytes", "Bytes", ("Average",)),
    "S3_OBJECTS": Kind("s3", "NumberOfObjects", COUNT, ("Average",)),
    "CUSTOM": Kind("custom", "", None, ("Sum", "Average")),
}


@dataclass(frozen=True)
class Window:
    """The aligned range a request is served on."""

    start: datetime
    end: datetime
    period: int
    granularity: str

    @property
    def buckets(self) -> int:
        return int((self.end - self.start).total_seconds()) // self.period


def _coarser(start: datetime, now: datetime) -> str:
    """The finest granularity CloudWatch still keeps for data starting at ``start``."""
    needed = min_period_for_age((now - start).total_seconds())
    return next(g for g, p in GRANULARITY_SECONDS.items() if p % needed == 0 and p >= needed)


def window(args: dict[str, Any], *, now: datetime) -> Window:
    """The request's range, aligned by the period rules (see module doc)."""
    start, end = instant(args, "startTime"), instant(args, "endTime")
    now = as_utc(now)
    if end <= start:
        raise ApiError(Code.BAD_RANGE, f"endTime ({aws_datetime(end)}) is not after startTime "
                       f"({aws_datetime(start)})")
    if start >= now:
        raise ApiError(Code.BAD_RANGE, f"startTime ({aws_datetime(start)}) is in the future")
    try:
        min_period_for_age((now - start).total_seconds())
    except PeriodError as exc:
        raise ApiError(Code.RANGE_TOO_OLD, f"startTime: {exc}; CloudWatch keeps 455 days") \
            from None
    granularity = args.get("granularity") or "AUTO"
    if granularity == "AUTO":
        tr = make_range(start, end, now=now, include_previous=False)
        return Window(tr.start, tr.end, tr.period, "AUTO")
    if granularity not in GRANULARITY_SECONDS:
        raise ApiError(Code.BAD_GRANULARITY, f"unknown granularity {granularity!r}")
    period = GRANULARITY_SECONDS[granularity]
    if not period_is_valid(period, start, now):
        raise ApiError(Code.BAD_GRANULARITY, (
            f"{granularity} buckets are not kept for data from {aws_datetime(start)} (CloudWatch "
            "keeps 1-minute data 15 days, 5-minute 63 days, 1-hour 455 days); ask for "
            f"{_coarser(start, now)} or coarser, or AUTO"))
    a_start = align_down(start, period)
    a_end = align_down(min(end, now + timedelta(minutes=1)), period)
    if a_end <= a_start:
        a_end = a_start + timedelta(seconds=period)
    win = Window(a_start, a_end, period, granularity)
    if win.buckets > MAX_POINTS:
        raise ApiError(Code.TOO_MANY_POINTS, (
            f"{win.buckets:,} {granularity} buckets exceed {MAX_POINTS:,} points per series; "
            "choose a coarser granularity or a shorter range"))
    return win


def statistics(args: dict[str, Any], kind: Kind) -> tuple[str, ...]:
    raw = args.get("statistics")
    if raw is None:
        return kind.stats
    stats = tuple(dict.fromkeys(raw))
    if not stats or len(stats) > MAX_STATISTICS:
        raise ApiError(Code.BAD_STATISTIC,
                       f"statistics: give between 1 and {MAX_STATISTICS} statistics")
    for stat in stats:
        try:
            validate_stat(stat)
        except ValueError as exc:
            raise ApiError(Code.BAD_STATISTIC, str(exc)) from None
    return stats


def _resources(app: App, service: str) -> list[str]:
    res = app.resources
    return {"api": [a.name for a in res.apis], "lambda": list(res.lambdas),
            "dynamodb": list(res.dynamodb_tables), "rds": list(res.rds_instances),
            "s3": list(res.s3_buckets)}[service]


def _queries(app: App, kind: Kind, stats: Sequence[str], period: int,
             only: str | None) -> list[MetricQuery]:
    build: dict[str, Callable[[str, str], list[MetricQuery]]] = {
        "api": lambda r, s: [q.api_query(app.id, next(a for a in app.resources.apis
                                                      if a.name == r), kind.metric, stat=s,
                                         period=period)],
        "lambda": lambda r, s: [q.lambda_query(app.id, r, kind.metric, stat=s, period=period)],
        "dynamodb": lambda r, s: [q.dynamodb_query(app.id, r, kind.metric, stat=s,
                                                   period=period)],
        "rds": lambda r, s: [q.rds_query(app.id, r, kind.metric, stat=s, period=period)],
        "s3": lambda r, s: (q.s3_size_queries(app.id, r, stat=s, period=period)
                            if kind.metric == "BucketSizeBytes" else
                            [q.s3_query(app.id, r, kind.metric, stat=s, period=period)]),
    }
    names = _resources(app, kind.service)
    if only is not None and only not in names:
        raise ApiError(Code.BAD_ARGUMENT, f"{app.id} has no {kind.service} resource {only!r}; "
                       f"it has {names}")
    return [query for r in names if only in (None, r) for s in stats
            for query in build[kind.service](r, s)]


def _points(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"timestamp": aws_datetime(ts), "value": float(v)}
            for ts, v in zip(frame["timestamp"], frame["value"], strict=True)]


def _series(frame: pd.DataFrame, kind: Kind) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    if kind.service == "s3" and kind.metric == "BucketSizeBytes":
        # one query per storage class: a bucket's size is their sum per bucket and bucket time
        frame = frame.groupby(["resource", "stat", "timestamp"])["value"].sum().reset_index()
    out = []
    for (resource, stat), grp in frame.groupby(["resource", "stat"], sort=True):
        out.append({"resource": str(resource), "statistic": str(stat),
                    "dimensions": dimensions_of(str(resource)) if kind.service == "custom"
                    else [], "points": _points(grp.sort_values("timestamp"))})
    return out


def get_metrics(rt: MetricsApiRuntime, args: dict[str, Any], *, now: datetime
                ) -> dict[str, Any]:
    """The ``MetricsResponse`` of ``args`` (the GraphQL arguments, by their schema names)."""
    app_id = text(args, "applicationId")
    assert app_id is not None
    app = access.visible_app(rt.catalog, app_id)
    type_name = str(args.get("metricType"))
    kind = KINDS.get(type_name)
    if kind is None:
        raise ApiError(Code.UNKNOWN_METRIC, f"unknown metricType {type_name!r}")
    stats = statistics(args, kind)
    win = window(args, now=now)
    if kind.service == "custom":
        return _custom(rt, app, args, kind, stats, win)
    shown, _ = resolve_app(rt, app)
    period = max(win.period, DAY) if kind.service == "s3" else win.period
    queries = _queries(shown, kind, stats, period, text(args, "resource", required=False))
    series_count = len({(x.resource, x.stat) for x in queries})
    if series_count * win.buckets > MAX_TOTAL_POINTS:
        raise ApiError(Code.TOO_MANY_POINTS, (
            f"{series_count} series x {win.buckets:,} buckets exceed {MAX_TOTAL_POINTS:,} points; "
            "ask for one resource, fewer statistics or a coarser granularity"))
    cached = fetch_metrics(rt, queries, start=win.start, end=win.end)
    frame = cached.value
    wanted = (frame["app"] == app.id) & frame["stat"].isin(stats)
    if kind.service == "s3" and kind.metric == "BucketSizeBytes":
        wanted &= frame["metric"].str.startswith("BucketSizeBytes/")
    else:
        wanted &= frame["metric"] == kind.metric
    frame = frame.loc[wanted]
    return _response(app.id, type_name, kind.metric, kind.unit, win, period,
                     _series(frame, kind), cached.fetched_at, cached.stale, cached.error)


def _custom(rt: MetricsApiRuntime, app: App, args: dict[str, Any], kind: Kind,
            stats: tuple[str, ...], win: Window) -> dict[str, Any]:
    name = text(args, "metricName", required=False)
    if name is None:
        raise ApiError(Code.BAD_ARGUMENT, "metricName is required for metricType CUSTOM")
    known = list_custom_metrics(rt, app.id)
    if name not in known:
        raise ApiError(Code.UNKNOWN_METRIC, f"{app.id} has no custom metric {name!r}; it has "
                       f"{known[:20]}{' ...' if len(known) > 20 else ''}")
    raw_dims = args.get("dimensions")
    dims = None if raw_dims is None else {d["name"]: d["value"] for d in raw_dims}
    frames, fetched, stale, error = [], [], False, None
    for stat in stats:
        got = custom_metric_series(rt, app.id, name, start=win.start, end=win.end,
                                   period=win.period, stat=stat, dims=dims)
        frames.append(got.value)
        fetched.append(got.fetched_at)
        if got.stale:
            stale, error = True, error or got.error
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    series = _series(frame, kind)
    if sum(len(s["points"]) for s in series) > MAX_TOTAL_POINTS:
        raise ApiError(Code.RESULT_TOO_LARGE, (
            f"{name} has {len(series)} dimension sets: more than {MAX_TOTAL_POINTS:,} points; "
            "ask for one set (dimensions) or a coarser granularity"))
    return _response(app.id, "CUSTOM", name, None, win, win.period, series, min(fetched),
                     stale, error)


def _response(app_id: str, type_name: str, metric: str, unit: str | None, win: Window,
              period: int, series: list[dict[str, Any]], fetched_at: float, stale: bool,
              error: str | None) -> dict[str, Any]:
    return {"applicationId": app_id, "metricType": type_name, "metricName": metric,
            "unit": unit, "startTime": aws_datetime(win.start),
            "endTime": aws_datetime(win.end), "periodSeconds": period,
            "granularity": win.granularity, "series": series,
            "fetchedAt": aws_datetime(fetched_at), "stale": stale,
            "staleReason": error if stale else None}
