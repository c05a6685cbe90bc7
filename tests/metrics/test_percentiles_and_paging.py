"""Percentiles (local vs numpy; aws request/response via Stubber) and GetMetricData paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from botocore.stub import ANY, Stubber

from analytics.core.aws_clients import AwsClients, billable_units
from analytics.core.cache import QueryCache
from analytics.core.catalog import Api
from analytics.core.periods import PeriodError
from analytics.core.settings import load_settings
from analytics.metrics.aws import AwsMetrics
from analytics.metrics.queries import api_query, lambda_query
from tests.metrics.conftest import END, NOW, SERIES, START

API = Api(id="k3x9ab12cd", name="ilikeyacut-api", kind="http")
LAT = SERIES[("AWS/ApiGateway", "Latency", (("ApiId", API.id),))]


@pytest.mark.parametrize("stat", ["p50", "p95", "p99", "p99.9", "p10"])
def test_local_percentiles_equal_numpy(local_backend, stat: str) -> None:
    q = api_query("ilikeyacut", API, "Latency", stat=stat, period=1800)
    frame = local_backend.get_metric_data([q], start=START, end=END)
    want = np.percentile([v for s, v in LAT if s < 1800], float(stat[1:]))
    assert frame["value"].iloc[0] == pytest.approx(want, rel=1e-12)


def test_local_percentiles_per_bucket(local_backend) -> None:
    q = api_query("ilikeyacut", API, "Latency", stat="p95", period=300)
    frame = local_backend.get_metric_data([q], start=START, end=END)
    for ts, value in zip(frame["timestamp"], frame["value"], strict=True):
        s0 = int((ts - START).total_seconds())
        bucket = [v for s, v in LAT if s0 <= s < s0 + 300]
        assert value == pytest.approx(np.percentile(bucket, 95))


@pytest.fixture
def stubbed() -> tuple[AwsMetrics, Stubber, QueryCache]:
    cache = QueryCache()
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "eu-west-1"}, secrets={})
    backend = AwsMetrics(clients=AwsClients(settings, cache), clock=lambda: NOW)
    stub = Stubber(backend.clients.client("cloudwatch"))
    return backend, stub, cache


def test_aws_percentile_request_and_parsing(stubbed) -> None:
    backend, stub, cache = stubbed
    t0 = START
    stub.add_response("get_metric_data", {
        "MetricDataResults": [{"Id": "q0", "Label": "Latency", "StatusCode": "Complete",
                               "Timestamps": [t0, t0 + timedelta(minutes=5)],
                               "Values": [180.5, 210.25]}],
    }, {
        "MetricDataQueries": [{
            "Id": "q0", "ReturnData": True,
            "MetricStat": {"Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Latency",
                                      "Dimensions": [{"Name": "ApiId", "Value": API.id}]},
                           "Period": 300, "Stat": "p99.9"},
        }],
        "StartTime": START, "EndTime": END, "ScanBy": "TimestampAscending",
    })
    with stub:
        q = api_query("ilikeyacut", API, "Latency", stat="p99.9", period=300)
        frame = backend.get_metric_data([q], start=START, end=END)
    stub.assert_no_pending_responses()
    assert list(frame["value"]) == [180.5, 210.25]
    assert set(frame["stat"]) == {"p99.9"}
    assert cache.snapshot()["aws_calls"] == {"cloudwatch.GetMetricData": 1}


def test_aws_paginates_and_splits_at_500_queries(stubbed) -> None:
    backend, stub, cache = stubbed
    qs = [lambda_query("ilikeyacut", f"fn-{i}", "Errors", stat="Sum", period=300)
          for i in range(501)]
    ts = [START]
    first = {"MetricDataResults": [{"Id": "q0", "Timestamps": ts, "Values": [1.0]}],
             "NextToken": "page-2"}
    second = {"MetricDataResults": [{"Id": "q499", "Timestamps": ts, "Values": [2.0]}]}
    third = {"MetricDataResults": [{"Id": "q500", "Timestamps": ts, "Values": [3.0]}]}
    stub.add_response("get_metric_data", first,
                      {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY,
                       "ScanBy": ANY})
    stub.add_response("get_metric_data", second,
                      {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY,
                       "ScanBy": ANY, "NextToken": "page-2"})
    stub.add_response("get_metric_data", third,
                      {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY,
                       "ScanBy": ANY})
    with stub:
        frame = backend.get_metric_data(qs, start=START, end=END)
    stub.assert_no_pending_responses()
    assert dict(zip(frame["resource"], frame["value"], strict=True)) == {
        "fn-0": 1.0, "fn-499": 2.0, "fn-500": 3.0}
    snap = cache.snapshot()
    assert snap["aws_calls"] == {"cloudwatch.GetMetricData": 3}
    # 500 + 500 (the page re-sends the queries) + 1 metrics requested
    assert snap["aws_units"] == {"cloudwatch.GetMetricData": 1001}


def test_aws_refuses_a_period_cloudwatch_would_answer_with_nothing(stubbed) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    backend = AwsMetrics(clients=stubbed[0].clients, clock=lambda: now)
    old = now - timedelta(days=20)
    with pytest.raises(PeriodError, match="cannot be served"):
        backend.get_metric_data([api_query("x", API, "Count", stat="Sum", period=60)], start=old,
                                end=old + timedelta(hours=1))


def test_billable_units_group_five_stats_of_one_metric() -> None:
    def q(stat: str, fn: str = "a") -> dict:
        return {"Id": "x", "MetricStat": {"Metric": {
            "Namespace": "AWS/Lambda", "MetricName": "Duration",
            "Dimensions": [{"Name": "FunctionName", "Value": fn}]}, "Period": 60, "Stat": stat}}
    params = {"MetricDataQueries": [q(s) for s in ("p50", "p90", "p95", "p99", "Average")]
              + [q("Sum"), q("p50", "b")]}
    assert billable_units("cloudwatch.GetMetricData", params) == 3
    assert billable_units("ce.GetCostAndUsage", {}) == 1


def test_clients_use_standard_retries_and_timeouts(stubbed) -> None:
    backend, _, _ = stubbed
    cfg = backend.clients.client("cloudwatch").meta.config
    assert cfg.retries["mode"] == "standard"
    assert cfg.connect_timeout == 3.0 and cfg.read_timeout == 10.0
    assert "us-east-1" in backend.clients.client("ce").meta.endpoint_url  # CE lives there
