"""The pipeline's four steps as plain functions: fetch, aggregate, report, store.

The local runner calls them in a row (:func:`run`); the Lambda handlers call the same functions
one per Step Functions state, passing data through the reports bucket. ``fetch`` reads through
the same cached services the pages use, so a rollup holds exactly what a chart of that day
shows: daily statistics straight from GetMetricData with a one-day period — a day's p95 is
CloudWatch's p95 of that day's raw values, never an average of shorter percentiles.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import pandas as pd

from analytics.core.cache import Cached, UpstreamError
from analytics.core.catalog import App
from analytics.core.periods import DAY, RETENTION_TIERS
from analytics.core.runtime import RuntimeOf
from analytics.costs import queries as cost_queries
from analytics.costs.frames import METRICS
from analytics.costs.source import HasCosts
from analytics.custom.service import custom_metric_series, list_custom_metrics
from analytics.custom.source import HasCustom
from analytics.metrics.queries import MetricQuery, api_query, lambda_query
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics
from analytics.pipeline.model import UNASSIGNED, ReportSpec, Rollup, RunRecord, RunRequest
from analytics.pipeline.source import HasReports, HasRollups
from analytics.reports import cost_review

#: CloudWatch keeps 1-hour data 455 days; Cost Explorer's DAILY data 13 months.
METRICS_KEPT_DAYS = RETENTION_TIERS[-1][0] // DAY
COSTS_KEPT_DAYS = cost_review.MAX_AGE_DAYS
API_DAILY = (("Count", "Sum"), ("4XXError", "Sum"), ("5XXError", "Sum"), ("Latency", "p50"),
             ("Latency", "p95"), ("Latency", "p99"), ("Latency", "Average"))
LAMBDA_DAILY = (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"),
                ("Duration", "p95"), ("Duration", "Average"), ("ConcurrentExecutions", "Maximum"))
COST_COLUMNS = ["day", "app", "service", "metric", "amount"]
CUSTOM_COLUMNS = ["day", "app", "key", "value"]


class PipelineSources(HasMetrics, HasCosts, HasCustom, HasRollups, HasReports, Protocol):
    """The sources a pipeline run reads and writes."""


PipelineRuntime = RuntimeOf[PipelineSources]


def daily_queries(apps: Iterable[App]) -> list[MetricQuery]:
    """Every statistic a rollup keeps, at a one-day period (CloudWatch computes each)."""
    out: list[MetricQuery] = []
    for app in apps:
        for api in app.resources.apis:
            out += [api_query(app.id, api, m, stat=s, period=DAY) for m, s in API_DAILY]
        for fn in app.resources.lambdas:
            out += [lambda_query(app.id, fn, m, stat=s, period=DAY) for m, s in LAMBDA_DAILY]
    return out


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _fresh(cached: Cached[pd.DataFrame]) -> pd.DataFrame:
    """A run stores what it fetched as final: a stale value (refresh failed) fails the step,
    which is retried, instead of being stored."""
    if cached.stale:
        raise UpstreamError(f"upstream failed, refusing a stale value: {cached.error}")
    return cached.value


@dataclass
class Fetched:
    request: RunRequest
    metrics: pd.DataFrame  # tidy: timestamp (the day's midnight), app, resource, metric, stat
    costs: pd.DataFrame  # COST_COLUMNS
    custom: pd.DataFrame  # CUSTOM_COLUMNS
    notes: list[str] = field(default_factory=list)


def fetch(rt: PipelineRuntime, request: RunRequest, *, today: date) -> Fetched:
    """The request's days: CloudWatch daily statistics, costs per service and app (both cost
    metrics), and each app's custom-metric sums per dimension set."""
    apps = list(rt.catalog.apps)
    notes: list[str] = []
    m_start = max(request.start, today - timedelta(days=METRICS_KEPT_DAYS - 1))
    metrics = pd.DataFrame(columns=["timestamp", "app", "resource", "metric", "stat", "value"])
    if m_start < request.end:
        metrics = _fresh(fetch_metrics(rt, daily_queries(apps), start=_midnight(m_start),
                                       end=_midnight(request.end), kind="pipeline"))
    if m_start > request.start:
        notes.append(f"CloudWatch no longer keeps {request.start}..{m_start - timedelta(1)}")
    c_start = max(request.start, today - timedelta(days=COSTS_KEPT_DAYS))
    cost_rows: list[tuple[object, ...]] = []
    ids = set(rt.catalog.ids())
    for metric in METRICS if c_start < request.end else ():
        frame = _fresh(cost_queries.costs(rt, c_start, request.end, metric=metric))
        for day, app, service, amount in zip(frame["start"], frame["app"], frame["service"],
                                             frame["amount"], strict=True):
            cost_rows.append((day, app if app in ids else UNASSIGNED, service, metric,
                              float(amount)))
    if c_start > request.start:
        notes.append(f"Cost Explorer no longer keeps {request.start}..{c_start - timedelta(1)}")
    custom_rows: list[tuple[object, ...]] = []
    for app in apps:
        for name in list_custom_metrics(rt, app.id):
            series = _fresh(custom_metric_series(
                rt, app.id, name, start=_midnight(request.start), end=_midnight(request.end),
                period=DAY, stat="Sum", kind="pipeline"))
            for ts, dims, value in zip(series["timestamp"], series["resource"], series["value"],
                                       strict=True):
                key = name if not dims else f"{name}|{dims}"
                custom_rows.append((ts.date(), app.id, key, float(value)))
    return Fetched(request, metrics, pd.DataFrame(cost_rows, columns=COST_COLUMNS),
                   pd.DataFrame(custom_rows, columns=CUSTOM_COLUMNS), notes)


def aggregate(fetched: Fetched, *, app_ids: Sequence[str], computed_ms: int) -> list[Rollup]:
    """One rollup per app and day of the request — also for a day without data, so "rolled
    up, nothing happened" reads differently from "never rolled up" — plus the unassigned costs."""
    metrics: dict[tuple[str, date], list[tuple[str, str, str, float]]] = defaultdict(list)
    m = fetched.metrics
    for ts, app, res, name, stat, value in zip(m["timestamp"], m["app"], m["resource"],
                                               m["metric"], m["stat"], m["value"], strict=True):
        metrics[(str(app), pd.Timestamp(ts).date())].append(
            (str(res), str(name), str(stat), float(value)))
    costs: dict[tuple[str, date], dict[str, dict[str, float]]] = defaultdict(dict)
    c = fetched.costs
    for day, app, service, metric, amount in zip(c["day"], c["app"], c["service"], c["metric"],
                                                 c["amount"], strict=True):
        per = costs[(str(app), day)].setdefault(str(metric), {})
        per[str(service)] = per.get(str(service), 0.0) + float(amount)
    custom: dict[tuple[str, date], dict[str, float]] = defaultdict(dict)
    u = fetched.custom
    for day, app, key, value in zip(u["day"], u["app"], u["key"], u["value"], strict=True):
        custom[(str(app), day)][str(key)] = float(value)
    out = []
    for day in fetched.request.days:
        for app in [*app_ids, UNASSIGNED]:
            k = (app, day)
            if app == UNASSIGNED and k not in costs:
                continue
            out.append(Rollup(app, day, tuple(sorted(metrics.get(k, []))), costs.get(k, {}),
                              custom.get(k, {}), computed_ms))
    return out


def report(rt: PipelineRuntime, specs: Sequence[ReportSpec], *, today: date,
           link_ttl_s: int) -> list[str]:
    """Build each pack (HTML + Markdown), store it and send its summary with a link."""
    out = []
    for spec in specs:
        rep = (cost_review.build_week_report(rt, spec.label, today=today) if spec.kind == "week"
               else cost_review.build_month_report(rt, spec.label, today=today))
        base = f"reports/{spec.kind}ly/cost-review-{spec.label}"
        store = rt.sources.reports
        store.put(f"{base}.md", cost_review.render_markdown(rep).encode(),
                  content_type="text/markdown; charset=utf-8")
        out.append(store.put(f"{base}.html", cost_review.render_html(rep).encode(),
                             content_type="text/html; charset=utf-8"))
        link = store.link(f"{base}.html", expires_s=link_ttl_s)
        change = rep.total - rep.previous_total
        store.notify(
            f"Cost review {spec.label}: ${rep.total:,.2f} ({change:+,.2f} vs previous)",
            f"Cost review {spec.label} ({rep.period.start} to "
            f"{rep.period.end - timedelta(days=1)}): total ${rep.total:,.2f}, previous "
            f"{rep.kind} ${rep.previous_total:,.2f}.\n\nThe pack (valid for "
            f"{link_ttl_s // 3600} h): {link}\n\n" + "\n".join(f"- {n}" for n in rep.notes))
    return out


def store(rt: PipelineRuntime, rollups: Sequence[Rollup]) -> int:
    return rt.sources.rollups.put_rollups(rollups)


@contextmanager
def _timing(durations: dict[str, float], step: str, perf: Callable[[], float]) -> Iterator[None]:
    t0 = perf()
    try:
        yield
    finally:
        durations[step] += perf() - t0


def run(rt: PipelineRuntime, request: RunRequest, *, today: date, run_id: str,
        trigger: str = "cli", clock: Callable[[], float] = time.time,
        perf: Callable[[], float] = time.perf_counter) -> RunRecord:
    """Every step for ``request`` in this process, a pass per chunk of days; the run record is
    stored when the run starts and again when it ends (``failed`` with the error if a step
    raised: the rollups of finished chunks stay, a re-run replaces them)."""
    record = RunRecord(run_id, request, "running", int(clock() * 1000), trigger)
    rt.sources.rollups.put_run(record)
    counts: dict[str, int] = defaultdict(int)
    durations: dict[str, float] = defaultdict(float)
    reports: list[str] = []
    ids = list(rt.catalog.ids())

    try:
        for chunk in request.chunks():
            with _timing(durations, "fetch", perf):
                fetched = fetch(rt, chunk, today=today)
            with _timing(durations, "aggregate", perf):
                rollups = aggregate(fetched, app_ids=ids, computed_ms=int(clock() * 1000))
            with _timing(durations, "report", perf):
                reports += report(rt, chunk.reports, today=today,
                                  link_ttl_s=rt.settings.report_link_ttl_s)
            with _timing(durations, "store", perf):
                counts["rollups"] += store(rt, rollups)
            counts["days"] += len(chunk.days)
            counts["metric_rows"] += len(fetched.metrics)
            counts["cost_rows"] += len(fetched.costs)
            counts["custom_rows"] += len(fetched.custom)
    except Exception as exc:
        record = record.finished("failed", at_ms=int(clock() * 1000), counts=dict(counts),
                                 durations_s=dict(durations), reports=tuple(reports),
                                 error=f"{type(exc).__name__}: {exc}")
    else:
        counts["apps"] = len(ids)
        counts["reports"] = len(reports)
        record = record.finished("succeeded", at_ms=int(clock() * 1000), counts=dict(counts),
                                 durations_s=dict(durations), reports=tuple(reports))
    rt.sources.rollups.put_run(record)
    return record
