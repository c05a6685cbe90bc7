"""What to ask CloudWatch for: metric queries and the per-service metric definitions.

A :class:`MetricQuery` is backend-neutral: the aws backend turns it into one
``MetricDataQuery``, the local backend into a DuckDB aggregation with the same semantics.
The builders below know each AWS service's namespace, metric names and dimensions (HTTP APIs
say ``5xx`` where REST APIs say ``5XXError``) so pages only speak logical names. The traps they
encode: DynamoDB's ``ThrottledRequests`` counts one operation (and BatchWriteItem only when the
whole batch was throttled), so throttles are ``ReadThrottleEvents`` + ``WriteThrottleEvents`` by
table; ``SuccessfulRequestLatency`` exists only per operation; S3 sizes are published per
storage type; an HTTP API's ``ApiId`` alone sums every stage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from analytics.core.catalog import Api

TIDY_COLUMNS = ["timestamp", "app", "resource", "metric", "stat", "value"]
BASIC_STATS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
_PCT_RE = re.compile(r"^p(\d{1,2}(?:\.\d{1,3})?|100)$")

Dims = tuple[tuple[str, str], ...]


def canonical_dims(dims: Iterable[tuple[str, str]]) -> str:
    """``Name=Value`` pairs sorted by name, comma-joined: one string per dimension set."""
    return ",".join(f"{k}={v}" for k, v in sorted(dims))


def percentile_of(stat: str) -> float | None:
    """``"p95"`` -> 95.0, ``"p99.9"`` -> 99.9; None for the basic statistics."""
    m = _PCT_RE.match(stat)
    if not m:
        return None
    q = float(m.group(1))
    return q if 0 <= q <= 100 else None


def validate_stat(stat: str) -> str:
    if stat in BASIC_STATS or percentile_of(stat) is not None:
        return stat
    raise ValueError(f"unsupported statistic {stat!r}: use {BASIC_STATS} or pNN / pNN.N")


@dataclass(frozen=True)
class MetricQuery:
    """One statistic of one metric at one period, labelled for the tidy result."""

    namespace: str
    metric_name: str
    dimensions: Dims
    stat: str
    period: int
    app: str
    resource: str
    metric: str

    def __post_init__(self) -> None:
        validate_stat(self.stat)
        if self.period <= 0 or self.period % 60:
            raise ValueError(f"period must be a positive multiple of 60 s, got {self.period}")

    @property
    def series_key(self) -> tuple[str, str, str]:
        return (self.namespace, self.metric_name, canonical_dims(self.dimensions))


# --- per-service builders -------------------------------------------------------------------

API_METRICS = ("Count", "Latency", "IntegrationLatency", "4XXError", "5XXError")
LAMBDA_METRICS = ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions")
DYNAMODB_METRICS = (
    "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents",
    "WriteThrottleEvents", "ThrottledRequests", "SuccessfulRequestLatency",
)
#: DynamoDB metrics published per ``Operation`` (and the one asked for when none is given).
DYNAMODB_PER_OPERATION = {"SuccessfulRequestLatency": "Query", "ThrottledRequests": "PutItem"}
RDS_METRICS = ("CPUUtilization", "DatabaseConnections", "ReadLatency", "WriteLatency",
               "FreeStorageSpace")
S3_METRICS = ("BucketSizeBytes", "NumberOfObjects")
#: The storage types whose ``BucketSizeBytes`` adds up to a bucket's size (AWS's S3 metrics
#: reference). Every storage class is listed; the per-object overheads of the archive and IA
#: classes (``*Overhead``, a few dozen KB per object) and staging storage are not.
S3_STORAGE_TYPES = (
    "StandardStorage", "IntelligentTieringFAStorage", "IntelligentTieringIAStorage",
    "IntelligentTieringAAStorage", "IntelligentTieringAIAStorage",
    "IntelligentTieringDAAStorage", "StandardIAStorage", "OneZoneIAStorage",
    "ReducedRedundancyStorage", "GlacierInstantRetrievalStorage", "GlacierStorage",
    "DeepArchiveStorage",
)
S3_DAY = 86400
#: Where the local simulator keeps Lambda cold starts (one InitDuration sample per cold start).
#: On aws they come from Logs Insights instead; the same name keeps one query interface.
COLD_START_NAMESPACE = "CentralAnalytics/LambdaInit"

_HTTP_API_NAMES = {"4XXError": "4xx", "5XXError": "5xx"}


def _q(ns: str, name: str, dims: Dims, stat: str, period: int, app: str, res: str,
       metric: str) -> MetricQuery:
    return MetricQuery(ns, name, dims, stat, period, app, res, metric)


def api_query(app: str, api: Api, metric: str, *, stat: str, period: int) -> MetricQuery:
    if metric not in API_METRICS:
        raise ValueError(f"unknown API Gateway metric {metric!r}")
    if api.kind == "http":
        name = _HTTP_API_NAMES.get(metric, metric)
        # ApiId alone sums every stage: narrow to the stage the catalog (or discovery) names.
        dims: Dims = ((("ApiId", api.id), ("Stage", api.stage)) if api.stage_given
                      else (("ApiId", api.id),))
    else:
        name = metric
        dims = (("ApiName", api.name), ("Stage", api.stage))
    return _q("AWS/ApiGateway", name, dims, stat, period, app, api.name, metric)


def lambda_query(app: str, function: str, metric: str, *, stat: str, period: int) -> MetricQuery:
    if metric not in LAMBDA_METRICS:
        raise ValueError(f"unknown Lambda metric {metric!r}")
    return _q("AWS/Lambda", metric, (("FunctionName", function),), stat, period, app, function,
              metric)


def cold_start_query(app: str, function: str, *, stat: str, period: int) -> MetricQuery:
    return _q(COLD_START_NAMESPACE, "InitDuration", (("FunctionName", function),), stat, period,
              app, function, "InitDuration")


def dynamodb_query(app: str, table: str, metric: str, *, stat: str, period: int,
                   operation: str | None = None) -> MetricQuery:
    """A table metric; per-operation metrics take ``operation`` (default: the usual one)."""
    if metric not in DYNAMODB_METRICS:
        raise ValueError(f"unknown DynamoDB metric {metric!r}")
    dims: Dims = (("TableName", table),)
    if metric in DYNAMODB_PER_OPERATION:
        dims = (("Operation", operation or DYNAMODB_PER_OPERATION[metric]), ("TableName", table))
    elif operation is not None:
        raise ValueError(f"DynamoDB publishes {metric} per table, not per operation")
    return _q("AWS/DynamoDB", metric, dims, stat, period, app, table, metric)


def rds_query(app: str, instance: str, metric: str, *, stat: str, period: int) -> MetricQuery:
    if metric not in RDS_METRICS:
        raise ValueError(f"unknown RDS metric {metric!r}")
    return _q("AWS/RDS", metric, (("DBInstanceIdentifier", instance),), stat, period, app,
              instance, metric)


def s3_query(app: str, bucket: str, metric: str, *, stat: str, period: int,
             storage_type: str | None = None) -> MetricQuery:
    """A daily S3 storage metric. ``BucketSizeBytes`` is one storage type (default Standard),
    labelled ``BucketSizeBytes/<type>``; :func:`s3_size_queries` asks for all of them."""
    if metric not in S3_METRICS:
        raise ValueError(f"unknown S3 metric {metric!r}")
    if metric == "BucketSizeBytes":
        storage = storage_type or "StandardStorage"
        label = f"{metric}/{storage}"
    else:
        storage, label = "AllStorageTypes", metric
    return _q("AWS/S3", metric, (("BucketName", bucket), ("StorageType", storage)), stat,
              max(period, S3_DAY), app, bucket, label)


def s3_size_queries(app: str, bucket: str, *, stat: str, period: int) -> list[MetricQuery]:
    """``BucketSizeBytes`` of every storage type: their sum is the bucket's size (a type the
    bucket does not use has no datapoint, so it adds nothing)."""
    return [s3_query(app, bucket, "BucketSizeBytes", stat=stat, period=period, storage_type=t)
            for t in S3_STORAGE_TYPES]
