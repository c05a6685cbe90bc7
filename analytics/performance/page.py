"""The Performance page as plain data: which queries it asks and the sections it draws.

:func:`page_queries` lists every CloudWatch query of an app and range, so the service sends the
whole page as **one** metrics fetch (the comparison window comes in the same request by starting
it one window earlier); :func:`build_sections` turns the answer into one
:class:`~analytics.performance.sections.Section` per AWS service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo

import pandas as pd

from analytics.core.catalog import App
from analytics.core.periods import DAY, TimeRange
from analytics.metrics.queries import MetricQuery
from analytics.performance.sections import Lookup, Section
from analytics.performance.views import (
    Ctx,
    api_queries,
    api_view,
    dynamodb_queries,
    dynamodb_view,
    lambda_queries,
    lambda_view,
    rds_queries,
    rds_view,
    s3_queries,
    s3_view,
)

#: Section keys in page order, as used in ``?open=``, with their titles.
SECTIONS: dict[str, str] = {
    "api": "API Gateway", "lambda": "Lambda", "dynamodb": "DynamoDB", "rds": "RDS", "s3": "S3",
}
#: The apps.toml key listing each section's resources.
CATALOG_KEYS: dict[str, str] = {
    "api": "apis", "lambda": "lambdas", "dynamodb": "dynamodb_tables",
    "rds": "rds_instances", "s3": "s3_buckets",
}
_WHAT: dict[str, str] = {
    "api": "requests, 4xx/5xx rates and latency percentiles against the SLO",
    "lambda": "invocations, errors, throttles, duration, concurrency and cold starts",
    "dynamodb": "consumed capacity, throttled requests and request latency",
    "rds": "CPU, connections, read/write latency and free storage",
    "s3": "bucket size and object count",
}


def page_queries(app: App, tr: TimeRange) -> list[MetricQuery]:
    """Every metric query of the page for ``app`` over ``tr`` (one list, one backend call)."""
    r, p = app.resources, tr.period
    out: list[MetricQuery] = []
    for api in r.apis:
        out += api_queries(app.id, api, p)
    for fn in r.lambdas:
        out += lambda_queries(app.id, fn, p)
    for table in r.dynamodb_tables:
        out += dynamodb_queries(app.id, table, p)
    for inst in r.rds_instances:
        out += rds_queries(app.id, inst, p)
    for bucket in r.s3_buckets:
        out += s3_queries(app.id, bucket, p)
    return out


def fetch_window(tr: TimeRange, compare: bool) -> TimeRange:
    """The window fetched: the range, or the previous window and the range when comparing."""
    return TimeRange(tr.previous().start, tr.end, tr.period, tr.label) if compare else tr


def empty_message(app: App, key: str, discovered: bool) -> str:
    """One line saying which apps.toml key to fill for an unconfigured service."""
    how = (f"list them under `{CATALOG_KEYS[key]}` in `[apps.{app.id}.resources]` of apps.toml")
    if discovered:
        how += f" (or tag them `Application={app.cost_tag}`)"
    return (f"{app.display_name} has no {SECTIONS[key]} resources: {how} to see "
            f"{_WHAT[key]}.")


@dataclass(frozen=True)
class DiscoveryNote:
    """How the resources were found when the catalog listed none."""

    tag: str
    count: int
    fetched_at: float
    stale: bool
    error: str | None


@dataclass(frozen=True)
class PerfPage:
    app: App  # with the resources actually shown (catalog or discovered)
    tr: TimeRange
    compare: bool
    sections: tuple[Section, ...]
    n_queries: int
    fetched_at: float
    stale: bool
    error: str | None
    discovery: DiscoveryNote | None = None
    #: What the sections were built from (app, range, options, data version): equal tokens,
    #: equal drawings, so a view can reuse figures built for an earlier one.
    token: tuple[object, ...] = ()

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def build_sections(app: App, tr: TimeRange, frame: pd.DataFrame, *, compare: bool,
                   discovered: bool = False, tz: tzinfo = UTC) -> tuple[Section, ...]:
    """One section per service from the tidy frame of :func:`page_queries` (``tz``: the zone
    the summaries' times are written in)."""
    ctx = Ctx(app, tr, Lookup(frame), compare, tz)
    r = app.resources
    views = {
        "api": [api_view(ctx, a) for a in r.apis],
        "lambda": [lambda_view(ctx, f) for f in r.lambdas],
        "dynamodb": [dynamodb_view(ctx, t) for t in r.dynamodb_tables],
        "rds": [rds_view(ctx, i) for i in r.rds_instances],
        "s3": [s3_view(ctx, b) for b in r.s3_buckets],
    }
    out = []
    for key, title in SECTIONS.items():
        res = tuple(views[key])
        note = None
        if key == "s3" and res and all(v.chart.empty for v in res):
            note = s3_note(tr)
        out.append(Section(key, title, res, None if res else
                           empty_message(app, key, discovered), note))
    return tuple(out)


def s3_note(tr: TimeRange) -> str:
    """Why S3 charts are empty on short ranges: its storage metrics are daily."""
    short = tr.seconds < DAY
    return ("S3 publishes bucket size and object count once a day (timestamped 00:00 UTC)"
            + ("; this range holds no daily datapoint — choose “Last 7 days” to see them."
               if short else "; none was published in this range yet."))
