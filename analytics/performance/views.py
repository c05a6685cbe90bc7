"""Per-service queries and views of the Performance page.

Each service pairs the queries it needs (built with :mod:`analytics.metrics.queries`) with the view
built from their answers, so a statistic is never asked for without being drawn, nor drawn without
being asked for. All queries of a page go out together (see :mod:`analytics.performance.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo

import pandas as pd

from analytics.core.catalog import Api, App
from analytics.core.fmt import human, local, zone_name
from analytics.core.periods import TimeRange
from analytics.metrics.queries import (
    DYNAMODB_PER_OPERATION,
    S3_STORAGE_TYPES,
    MetricQuery,
    api_query,
    dynamodb_query,
    lambda_query,
    rds_query,
    s3_query,
    s3_size_queries,
)
from analytics.performance.sections import (
    PREVIOUS,
    Chart,
    Lookup,
    Panel,
    ResourceView,
    breach_spans,
    panel,
    peak,
    rate_pct,
    slo_line,
    split_windows,
    total,
)

PERCENTILES = ("p50", "p95", "p99")
API_STATS = (("Count", "Sum"), ("4XXError", "Sum"), ("5XXError", "Sum"),
             *(("Latency", p) for p in PERCENTILES))
LAMBDA_STATS = (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"),
                *(("Duration", p) for p in PERCENTILES), ("ConcurrentExecutions", "Maximum"))
# Throttles: read + write throttle events of the table, whatever the operation (the
# per-operation ThrottledRequests misses every operation but the one asked for). DynamoDB
# documents Average/Minimum/Maximum/SampleCount for SuccessfulRequestLatency, per operation.
DYNAMODB_STATS = (("ConsumedReadCapacityUnits", "Sum"), ("ConsumedWriteCapacityUnits", "Sum"),
                  ("ReadThrottleEvents", "Sum"), ("WriteThrottleEvents", "Sum"),
                  ("SuccessfulRequestLatency", "Average"), ("SuccessfulRequestLatency", "Maximum"))
#: The operation whose latency the DynamoDB panel draws (and names).
LATENCY_OPERATION = DYNAMODB_PER_OPERATION["SuccessfulRequestLatency"]
RDS_STATS = (("CPUUtilization", "Average"), ("DatabaseConnections", "Average"),
             ("ReadLatency", "Average"), ("WriteLatency", "Average"),
             ("FreeStorageSpace", "Minimum"))
S3_SIZE_STAT = "Average"
S3_STATS = (("NumberOfObjects", "Average"),)

#: A function is flagged when it throttles or fails this often.
LAMBDA_ERROR_ALERT_PCT = 1.0
RDS_CPU_ALERT_PCT = 90.0
GB = 1e9


@dataclass(frozen=True)
class Ctx:
    """What every view needs: the app, the range, the answers and the comparison switch."""

    app: App
    tr: TimeRange
    data: Lookup
    compare: bool
    tz: tzinfo = UTC

    def get(self, resource: str, metric: str, stat: str) -> pd.Series:
        return self.data.get(resource, metric, stat)

    def current(self, s: pd.Series) -> pd.Series:
        return split_windows(s, self.tr)[0]

    def previous(self, s: pd.Series) -> pd.Series:
        return split_windows(s, self.tr)[1]

    def key(self, service: str, resource: str) -> str:
        return f"{self.app.id}-{service}-{resource}"

    def chart(self, service: str, resource: str, title: str, *panels: Panel) -> Chart:
        return Chart(self.key(service, resource), title, panels,
                     (pd.Timestamp(self.tr.start), pd.Timestamp(self.tr.end)))


def mean(s: pd.Series) -> float | None:
    return float(s.mean()) if len(s) else None


def last(s: pd.Series) -> float | None:
    return float(s.iloc[-1]) if len(s) else None


def _vs(ctx: Ctx, cur: float | None, prev: float | None) -> str:
    if not ctx.compare or cur is None or not prev:
        return ""
    change = (cur - prev) / abs(prev) * 100
    return f" ({change:+.1f}% vs previous)" if abs(change) >= 0.05 else " (same as previous)"


def _ms(value: float | None) -> str:
    return human(value, "ms")


def _when(spans: tuple[tuple[pd.Timestamp, pd.Timestamp], ...], tz: tzinfo) -> str:
    a, b = (local(t.to_pydatetime(), tz) for t in spans[0])
    return f"{a:%b %d %H:%M}–{b:%H:%M} {zone_name(tz)}"


# --- API Gateway ----------------------------------------------------------------------------

def api_queries(app_id: str, api: Api, period: int) -> list[MetricQuery]:
    return [api_query(app_id, api, m, stat=s, period=period) for m, s in API_STATS]


def api_view(ctx: Ctx, api: Api) -> ResourceView:
    n = api.name
    count, e4, e5 = (ctx.get(n, m, "Sum") for m in ("Count", "4XXError", "5XXError"))
    lat = {p: ctx.get(n, "Latency", p) for p in PERCENTILES}
    slo = ctx.app.slo_p95_ms
    spans = breach_spans(ctx.current(lat["p95"]), slo, ctx.tr.period)
    chart = ctx.chart(
        "api",
        n,
        f"{n} ({api.kind.upper()} API)",
        panel("Requests", "count", tr=ctx.tr, series={"Requests": count}, compare=ctx.compare),
        panel(
            "Error rates (%)",
            "%",
            tr=ctx.tr,
            series={"4xx %": rate_pct(e4, count), "5xx %": rate_pct(e5, count)},
            compare=ctx.compare,
        ),
        panel(
            "Latency (ms)",
            "ms",
            tr=ctx.tr,
            series=lat,
            compare=ctx.compare,
            wide=True,
            spans=spans,
            extra=slo_line(ctx.tr, slo, f"p95 < {slo:g} ms"),
        ),
    )
    c_count, c_e4, c_e5 = (total(ctx.current(s)) for s in (count, e4, e5))
    p_count = total(ctx.previous(count))

    def pct(x: float | None) -> str:
        return human(x / c_count * 100 if c_count and x is not None else None, "%")

    summary = (f"{human(c_count)} requests{_vs(ctx, c_count, p_count)} · 4xx {pct(c_e4)} · "
               f"5xx {pct(c_e5)} · p95 peak {_ms(peak(ctx.current(lat['p95'])))}")
    if spans:
        summary += (f" · SLO p95 < {slo:g} ms breached in {len(spans)} span(s), "
                    f"first {_when(spans, ctx.tz)}")
    return ResourceView(n, chart, summary, alert=bool(spans))


# --- Lambda ---------------------------------------------------------------------------------

def lambda_queries(app_id: str, fn: str, period: int) -> list[MetricQuery]:
    return [lambda_query(app_id, fn, m, stat=s, period=period) for m, s in LAMBDA_STATS]


def lambda_view(ctx: Ctx, fn: str) -> ResourceView:
    inv, err, thr = (ctx.get(fn, m, "Sum") for m in ("Invocations", "Errors", "Throttles"))
    dur = {p: ctx.get(fn, "Duration", p) for p in PERCENTILES}
    conc = ctx.get(fn, "ConcurrentExecutions", "Maximum")
    chart = ctx.chart(
        "lambda",
        fn,
        fn,
        panel("Invocations", "count", tr=ctx.tr, series={"Invocations": inv}, compare=ctx.compare),
        panel(
            "Error %", "%", tr=ctx.tr, series={"Error %": rate_pct(err, inv)}, compare=ctx.compare
        ),
        panel("Throttles", "count", tr=ctx.tr, series={"Throttles": thr}, compare=ctx.compare),
        panel(
            "Concurrent executions (max)",
            "count",
            tr=ctx.tr,
            series={"Concurrent (max)": conc},
            compare=ctx.compare,
        ),
        panel("Duration (ms)", "ms", tr=ctx.tr, series=dur, compare=ctx.compare, wide=True),
    )
    c_inv, c_err, c_thr = (total(ctx.current(s)) for s in (inv, err, thr))
    err_pct = c_err / c_inv * 100 if c_inv and c_err is not None else None
    summary = (f"{human(c_inv)} invocations{_vs(ctx, c_inv, total(ctx.previous(inv)))} · "
               f"errors {human(err_pct, '%')} · {human(c_thr or 0)} throttles · "
               f"p95 peak {_ms(peak(ctx.current(dur['p95'])))} · "
               f"concurrency peak {human(peak(ctx.current(conc)))}")
    alert = bool(c_thr) or (err_pct or 0) >= LAMBDA_ERROR_ALERT_PCT
    return ResourceView(fn, chart, summary, alert)


# --- DynamoDB -------------------------------------------------------------------------------

def dynamodb_queries(app_id: str, table: str, period: int) -> list[MetricQuery]:
    return [dynamodb_query(app_id, table, m, stat=s, period=period) for m, s in DYNAMODB_STATS]


def dynamodb_view(ctx: Ctx, table: str) -> ResourceView:
    per_s = float(ctx.tr.period)
    rcu = ctx.get(table, "ConsumedReadCapacityUnits", "Sum") / per_s
    wcu = ctx.get(table, "ConsumedWriteCapacityUnits", "Sum") / per_s
    reads = ctx.get(table, "ReadThrottleEvents", "Sum")
    writes = ctx.get(table, "WriteThrottleEvents", "Sum")
    op = LATENCY_OPERATION
    lat = {f"{op} avg": ctx.get(table, "SuccessfulRequestLatency", "Average"),
           f"{op} max": ctx.get(table, "SuccessfulRequestLatency", "Maximum")}
    chart = ctx.chart(
        "dynamodb",
        table,
        table,
        panel(
            "Consumed capacity (units/s)",
            "units/s",
            tr=ctx.tr,
            series={"Read (RCU/s)": rcu, "Write (WCU/s)": wcu},
            compare=ctx.compare,
        ),
        panel(
            "Throttle events", "count", tr=ctx.tr,
            series={"Read throttles": reads, "Write throttles": writes}, compare=ctx.compare
        ),
        panel(f"{op} latency (ms)", "ms", tr=ctx.tr, series=lat, compare=ctx.compare, wide=True),
    )
    c_reads, c_writes = total(ctx.current(reads)) or 0.0, total(ctx.current(writes)) or 0.0
    c_thr = c_reads + c_writes
    summary = (f"read {human(mean(ctx.current(rcu)))} RCU/s · write "
               f"{human(mean(ctx.current(wcu)))} WCU/s (averages) · {human(c_thr)} throttle "
               f"events ({human(c_reads)} read, {human(c_writes)} write) · {op} latency avg "
               f"{human(mean(ctx.current(lat[f'{op} avg'])))} ms")
    return ResourceView(table, chart, summary, alert=c_thr > 0)


# --- RDS ------------------------------------------------------------------------------------

def rds_queries(app_id: str, instance: str, period: int) -> list[MetricQuery]:
    return [rds_query(app_id, instance, m, stat=s, period=period) for m, s in RDS_STATS]


def rds_view(ctx: Ctx, inst: str) -> ResourceView:
    cpu = ctx.get(inst, "CPUUtilization", "Average")
    conns = ctx.get(inst, "DatabaseConnections", "Average")
    # CloudWatch reports RDS latencies in seconds and storage in bytes.
    read = ctx.get(inst, "ReadLatency", "Average") * 1000.0
    write = ctx.get(inst, "WriteLatency", "Average") * 1000.0
    free = ctx.get(inst, "FreeStorageSpace", "Minimum") / GB
    chart = ctx.chart(
        "rds",
        inst,
        inst,
        panel("CPU (%)", "%", tr=ctx.tr, series={"CPU %": cpu}, compare=ctx.compare),
        panel(
            "Connections", "count", tr=ctx.tr, series={"Connections": conns}, compare=ctx.compare
        ),
        panel(
            "Read/write latency (ms)",
            "ms",
            tr=ctx.tr,
            series={"Read": read, "Write": write},
            compare=ctx.compare,
        ),
        panel(
            "Free storage (GB)",
            "GB",
            tr=ctx.tr,
            series={"Free storage GB": free},
            compare=ctx.compare,
        ),
    )
    c_cpu = peak(ctx.current(cpu))
    c_free = ctx.current(free)
    summary = (f"CPU peak {human(c_cpu, '%')} · connections peak "
               f"{human(peak(ctx.current(conns)))} · read/write latency avg "
               f"{human(mean(ctx.current(read)))}/{human(mean(ctx.current(write)))} ms · "
               f"free storage {human(last(c_free))} GB")
    return ResourceView(inst, chart, summary, alert=(c_cpu or 0) >= RDS_CPU_ALERT_PCT)


# --- S3 -------------------------------------------------------------------------------------

def s3_queries(app_id: str, bucket: str, period: int) -> list[MetricQuery]:
    return (s3_size_queries(app_id, bucket, stat=S3_SIZE_STAT, period=period)
            + [s3_query(app_id, bucket, m, stat=s, period=period) for m, s in S3_STATS])


def bucket_size(ctx: Ctx, bucket: str) -> pd.Series:
    """Bytes per day summed over the storage types the bucket has (the others add nothing)."""
    parts = [s for t in S3_STORAGE_TYPES
             if len(s := ctx.get(bucket, f"BucketSizeBytes/{t}", S3_SIZE_STAT))]
    if not parts:
        return ctx.get(bucket, "BucketSizeBytes/StandardStorage", S3_SIZE_STAT)
    total_bytes = parts[0]
    for s in parts[1:]:
        total_bytes = total_bytes.add(s, fill_value=0.0)
    return total_bytes


def at_midnight(s: pd.Series) -> pd.Series:
    """A daily series moved from its one-day buckets to the 00:00 UTC datapoint each holds.

    S3 publishes one datapoint per day at 00:00 UTC; the page's one-day buckets start where the
    range starts, so a point would otherwise be drawn (and exported) at the range's start.
    """
    if s.empty:
        return s
    return pd.Series(s.to_numpy(), index=pd.DatetimeIndex(s.index).ceil("D"))


def s3_view(ctx: Ctx, bucket: str) -> ResourceView:
    size = at_midnight(bucket_size(ctx, bucket)) / GB
    objects = at_midnight(ctx.get(bucket, "NumberOfObjects", "Average"))
    chart = ctx.chart(
        "s3", bucket, bucket,
        panel("Size (GB)", "GB", tr=ctx.tr, series={"Size GB": size}, compare=ctx.compare),
        panel("Objects", "count", tr=ctx.tr, series={"Objects": objects}, compare=ctx.compare),
    )
    c_size, c_obj = ctx.current(size), ctx.current(objects)
    summary = (f"{human(last(c_size))} GB · {human(last(c_obj))} objects "
               "(latest daily value in the range)")
    return ResourceView(bucket, chart, summary)


def has_previous(chart: Chart) -> bool:
    """Whether any panel draws previous-window points (for tests and captions)."""
    return any(not p.data.empty and (p.data["window"] == PREVIOUS).any() for p in chart.panels)
