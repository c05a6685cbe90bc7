"""The contract suite extended to every metric query the Performance page makes.

Local: every query (percentiles included) against numpy on a small known sample set.
aws (moto): every basic-statistic query gives the same tidy frame as local on the same samples.
aws (Stubber): the request shape of the percentile queries moto cannot answer, and the
service-specific names and dimensions (REST vs HTTP APIs, DynamoDB operation, S3 storage type).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from botocore.stub import ANY, Stubber

from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.metrics.aws import AwsMetrics
from analytics.metrics.queries import S3_STORAGE_TYPES, TIDY_COLUMNS, percentile_of
from analytics.performance.page import page_queries
from tests.performance.conftest import (
    CATALOG,
    END,
    NOW,
    START,
    TR,
    aws_runtime,
    aws_settings,
    expected,
    put_to_moto,
)

APPS = ["ilikeyacut", "jobseek"]


def _by_query(frame: pd.DataFrame) -> dict[tuple[str, str, str], dict[pd.Timestamp, float]]:
    out: dict[tuple[str, str, str], dict[pd.Timestamp, float]] = {}
    for r, m, s, t, v in zip(frame["resource"], frame["metric"], frame["stat"],
                             frame["timestamp"], frame["value"], strict=True):
        out.setdefault((r, m, s), {})[t] = v
    return out


@pytest.mark.parametrize("app_id", APPS)
def test_every_page_query_on_local_matches_numpy(small_local, app_id: str) -> None:
    backend, by_app = small_local
    app = CATALOG.get(app_id)
    queries = page_queries(app, TR)
    frame = backend.get_metric_data(queries, start=START, end=END)
    assert list(frame.columns) == TIDY_COLUMNS
    got = _by_query(frame)
    assert set(frame["app"]) == {app_id}
    for q in queries:
        want = expected(q, by_app[app_id][q.series_key])
        assert want, f"test data covers {q.metric} {q.stat}"
        have = got[(q.resource, q.metric, q.stat)]
        assert have.keys() == want.keys(), (q.metric, q.stat)
        for ts, value in want.items():
            assert have[ts] == pytest.approx(value, rel=1e-9), (q.resource, q.metric, q.stat)
    assert len(got) == len(queries)  # every query answered, each under its own label


@pytest.mark.parametrize("app_id", APPS)
def test_every_basic_page_query_on_moto_equals_local(moto, small_local, app_id: str) -> None:
    local, by_app = small_local
    put_to_moto(by_app[app_id])
    basic = [q for q in page_queries(CATALOG.get(app_id), TR) if percentile_of(q.stat) is None]
    assert {"Sum", "Average", "Maximum"} <= {q.stat for q in basic}
    rt = aws_runtime()
    on_aws = rt.sources.metrics.get_metric_data(basic, start=START, end=END)
    on_local = local.get_metric_data(basic, start=START, end=END)
    assert len(on_aws) == len(on_local) > len(basic)
    pd.testing.assert_frame_equal(on_aws, on_local, check_exact=False, rtol=1e-9)
    assert rt.cache.snapshot()["aws_calls"] == {"cloudwatch.GetMetricData": 1}


def _capture(backend: AwsMetrics) -> tuple[Stubber, list[dict[str, Any]]]:
    client = backend.clients.client("cloudwatch")
    seen: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.cloudwatch.GetMetricData",
                                lambda params, **_: seen.append(params))
    return Stubber(client), seen


def _metric(qd: dict[str, Any]) -> tuple[str, str, tuple[tuple[str, str], ...], str, int]:
    ms = qd["MetricStat"]
    m = ms["Metric"]
    return (m["Namespace"], m["MetricName"],
            tuple((d["Name"], d["Value"]) for d in m["Dimensions"]), ms["Stat"], ms["Period"])


def test_percentile_queries_request_shape_and_parsing() -> None:
    backend = AwsMetrics(clients=AwsClients(aws_settings(), QueryCache()), clock=lambda: NOW)
    stub, seen = _capture(backend)
    app = CATALOG.get("jobseek")
    queries = [q for q in page_queries(app, TR) if percentile_of(q.stat) is not None]
    t0 = pd.Timestamp(START)
    stub.add_response("get_metric_data", {"MetricDataResults": [
        {"Id": "q0", "Timestamps": [START], "Values": [123.5]},
        {"Id": f"q{len(queries) - 1}", "Timestamps": [START], "Values": [456.25]},
    ]}, {"MetricDataQueries": ANY, "StartTime": START, "EndTime": END,
         "ScanBy": "TimestampAscending"})
    with stub:
        frame = backend.get_metric_data(queries, start=START, end=END)
    stub.assert_no_pending_responses()
    sent = [_metric(q) for q in seen[0]["MetricDataQueries"]]
    want = []
    for dims in ((("ApiName", "jobseek-public"), ("Stage", "prod")),
                 (("ApiId", "q8w7e6r5t4"), ("Stage", "$default"))):
        want += [("AWS/ApiGateway", "Latency", dims, p, 300) for p in ("p50", "p95", "p99")]
    for fn in app.resources.lambdas:
        want += [("AWS/Lambda", "Duration", (("FunctionName", fn),), p, 300)
                 for p in ("p50", "p95", "p99")]
    assert sent == want
    assert [q["Id"] for q in seen[0]["MetricDataQueries"]] == [f"q{i}" for i in range(len(want))]
    got = {(r, m, s): (t, v) for r, m, s, t, v in zip(
        frame["resource"], frame["metric"], frame["stat"], frame["timestamp"], frame["value"],
        strict=True)}
    assert got == {("jobseek-public", "Latency", "p50"): (t0, 123.5),
                   ("jobseek-notify", "Duration", "p99"): (t0, 456.25)}


def test_service_specific_names_and_dimensions_in_the_request() -> None:
    backend = AwsMetrics(clients=AwsClients(aws_settings(), QueryCache()), clock=lambda: NOW)
    stub, seen = _capture(backend)
    stub.add_response("get_metric_data", {"MetricDataResults": []}, None)
    queries = page_queries(CATALOG.get("jobseek"), TR)
    with stub:
        backend.get_metric_data(queries, start=START, end=END)
    sent = {_metric(q) for q in seen[0]["MetricDataQueries"]}
    assert len(seen[0]["MetricDataQueries"]) == len(queries) == 51 + len(S3_STORAGE_TYPES) + 1
    assert ("AWS/ApiGateway", "4XXError", (("ApiName", "jobseek-public"), ("Stage", "prod")),
            "Sum", 300) in sent
    # apps.toml names the HTTP API's stage: its metrics are that stage's, not every stage's.
    internal = (("ApiId", "q8w7e6r5t4"), ("Stage", "$default"))
    assert ("AWS/ApiGateway", "4xx", internal, "Sum", 300) in sent
    assert ("AWS/ApiGateway", "5xx", internal, "Sum", 300) in sent
    assert ("AWS/DynamoDB", "SuccessfulRequestLatency",
            (("Operation", "Query"), ("TableName", "jobseek-applications")), "Average",
            300) in sent
    # Throttles of every operation: read and write throttle events by table.
    for name in ("ReadThrottleEvents", "WriteThrottleEvents"):
        assert ("AWS/DynamoDB", name, (("TableName", "jobseek-applications"),), "Sum",
                300) in sent
    assert not any(m[1] == "ThrottledRequests" for m in sent)
    assert ("AWS/RDS", "FreeStorageSpace", (("DBInstanceIdentifier", "jobseek-postgres"),),
            "Minimum", 300) in sent
    # S3 storage metrics are daily: period one day whatever the range's period.
    for storage in ("StandardStorage", "StandardIAStorage", "GlacierStorage",
                    "IntelligentTieringFAStorage", "DeepArchiveStorage"):
        assert ("AWS/S3", "BucketSizeBytes", (("BucketName", "jobseek-resumes"),
                                              ("StorageType", storage)),
                "Average", 86400) in sent
    assert ("AWS/S3", "NumberOfObjects", (("BucketName", "jobseek-resumes"),
                                          ("StorageType", "AllStorageTypes")),
            "Average", 86400) in sent
    assert ("AWS/Lambda", "ConcurrentExecutions", (("FunctionName", "jobseek-search"),),
            "Maximum", 300) in sent
