"""The pipeline on the aws backend: moto for CloudWatch sums, DynamoDB, S3; Stubber where moto
falls short.

moto's GetMetricData has no percentile statistics (it returns no value for ``p95``). So the
end-to-end run on moto drops exactly the percentile queries before they reach moto (the
``WithoutPercentiles`` source below) and asserts the rollup holds none, and a separate test
stubs GetMetricData with botocore's Stubber to prove a rollup's p95 is CloudWatch's own value
for a one-day period. Cost Explorer answers only what is queued, so it is stubbed too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.catalog import load_catalog
from analytics.core.settings import load_settings
from analytics.metrics.aws import AwsMetrics, metric_data_query
from analytics.metrics.queries import MetricQuery, percentile_of
from analytics.pipeline.aws import AwsReports, AwsRollups, AwsRunner, item_size
from analytics.pipeline.model import (
    PipelineError,
    Rollup,
    RunRecord,
    RunRequest,
    backfill_request,
    day_request,
)
from analytics.pipeline.service import execute
from analytics.pipeline.steps import Fetched, aggregate, daily_queries
from analytics.sources import Runtime, aws_sources
from tests.costs.conftest import ce_page
from tests.pipeline.conftest import HTTP_API, RAW, ROOT, TODAY, Clock, ms

DAY = date(2026, 3, 4)
NOW = datetime(2026, 3, 10, 3, tzinfo=UTC)
METRICS_TABLE, ROLLUPS_TABLE, BUCKET = "metrics-test", "rollups-test", "reports-test"


class WithoutPercentiles:
    """The moto CloudWatch source minus percentile queries (moto cannot compute them)."""

    def __init__(self, inner: AwsMetrics) -> None:
        self.inner = inner
        self.dropped: list[MetricQuery] = []

    def get_metric_data(self, queries: Sequence[MetricQuery], *, start: datetime,
                        end: datetime) -> pd.DataFrame:
        kept = [q for q in queries if percentile_of(q.stat) is None]
        self.dropped += [q for q in queries if percentile_of(q.stat) is not None]
        return self.inner.get_metric_data(kept, start=start, end=end)


def _tables(ddb: Any) -> None:
    ddb.create_table(TableName=METRICS_TABLE, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                                {"AttributeName": "timestamp", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "metricId", "AttributeType": "S"},
                                           {"AttributeName": "timestamp", "AttributeType": "N"}])
    ddb.create_table(TableName=ROLLUPS_TABLE, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])


@pytest.fixture
def aws_rt() -> Iterator[tuple[Runtime, WithoutPercentiles]]:
    """An aws runtime on moto with the day's raw samples in CloudWatch and the metrics table."""
    with mock_aws():
        settings = load_settings({
            "ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1",
            "METRICS_TABLE": METRICS_TABLE, "ROLLUPS_TABLE": ROLLUPS_TABLE,
            "REPORTS_BUCKET": BUCKET}, secrets={})
        _tables(boto3.client("dynamodb", region_name="us-east-1"))
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        raw = RAW.samples
        day = raw[(raw["ts_ms"] >= ms(DAY)) & (raw["ts_ms"] < ms(DAY, 86_400))]
        for (ns, name, dims), grp in day.groupby(["namespace", "metric_name", "dims"]):
            data = [{"MetricName": name, "Value": float(v),
                     "Timestamp": datetime.fromtimestamp(t / 1000, UTC),
                     "Dimensions": [{"Name": k, "Value": val} for k, val in
                                    (pair.split("=", 1) for pair in str(dims).split(","))]}
                    for t, v in zip(grp["ts_ms"], grp["value"], strict=True)]
            for i in range(0, len(data), 500):
                cw.put_metric_data(Namespace=str(ns), MetricData=data[i:i + 500])
        # the ingest Lambda's EMF copy makes the custom metric listable in its namespace
        cw.put_metric_data(Namespace="ILikeYaCut/Business",
                           MetricData=[{"MetricName": "Signups", "Value": 1.0}])
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        c = RAW.custom[(RAW.custom["ts_ms"] >= ms(DAY)) & (RAW.custom["ts_ms"] < ms(DAY, 86_400))]
        for i, (ts, dims, value) in enumerate(zip(c["ts_ms"], c["dims"], c["value"],
                                                  strict=True)):
            ddb.put_item(TableName=METRICS_TABLE, Item={
                "metricId": {"S": "ilikeyacut#Signups"},
                "timestamp": {"N": str(int(ts) * 10**20 + i)}, "ts_ms": {"N": str(int(ts))},
                "dims": {"S": dims}, "value": {"N": str(value)},
                "receivedAt": {"N": str(int(ts) + 500)}, "ttl": {"N": "4102444800"}})
        clients = AwsClients(settings, QueryCache())
        metrics = WithoutPercentiles(AwsMetrics(clients=clients, clock=lambda: NOW))
        sources = replace(aws_sources(settings, clients=clients), metrics=metrics)
        yield Runtime(settings, load_catalog(ROOT / "apps.toml"), sources, clients.cache), metrics


def _ce_costs(stub: Stubber, day: date) -> None:
    groups = [("AWS Lambda", "ilikeyacut", 2.5), ("Amazon DynamoDB", "ilikeyacut", 1.25),
              ("AWS Lambda", "jobseek", 4.0), ("Amazon S3", "", 0.5)]
    for metric in ("UnblendedCost", "AmortizedCost"):
        stub.add_response("get_cost_and_usage",
                          ce_page([(day.isoformat(), groups)], metric=metric), None)


def test_a_day_on_moto_stores_cloudwatch_sums_costs_and_custom_sums(
        aws_rt: tuple[Runtime, WithoutPercentiles]) -> None:
    rt, metrics = aws_rt
    # GIVEN CloudWatch (moto) with the day's raw samples and Cost Explorer's day (stubbed)
    with Stubber(rt.sources.costs.clients.client("ce")) as ce:  # type: ignore[attr-defined]
        _ce_costs(ce, DAY)
        # WHEN the day runs through every step
        record = execute(rt, day_request(DAY, today=TODAY), today=TODAY, run_id="moto",
                         clock=Clock(NOW))
        ce.assert_no_pending_responses()
    # THEN the rollup in DynamoDB holds CloudWatch's daily sums: the raw sums
    assert record.status == "succeeded", record.error
    (r,) = rt.sources.rollups.get_rollups(["ilikeyacut"], start=DAY, end=DAY + timedelta(1))
    sums = {(res, m): v for res, m, s, v in r.metrics if s == "Sum"}
    assert sums[("ilikeyacut-api", "Count")] == RAW.values("Count", HTTP_API, DAY).sum()
    assert sums[("ilikeyacut-api", "5XXError")] == RAW.values("5xx", HTTP_API, DAY).sum()
    # AND the percentile queries were skipped on moto, visibly: none is stored
    assert metrics.dropped and all(percentile_of(q.stat) for q in metrics.dropped)
    assert not [m for m in r.metrics if percentile_of(m[2]) is not None]
    # AND the costs per service and the custom sums per dimension set
    assert r.costs["UnblendedCost"] == {"AWS Lambda": 2.5, "Amazon DynamoDB": 1.25}
    c = RAW.custom[(RAW.custom["ts_ms"] >= ms(DAY)) & (RAW.custom["ts_ms"] < ms(DAY, 86_400))]
    assert r.custom["Signups|Plan=pro"] == c[c["dims"] == "Plan=pro"]["value"].sum()
    (u,) = rt.sources.rollups.get_rollups(["(unassigned)"], start=DAY, end=DAY + timedelta(1))
    assert u.costs["AmortizedCost"] == {"Amazon S3": 0.5}
    # AND the run record is in the same table
    assert rt.sources.rollups.list_runs(limit=5)[0].run_id == "moto"


def test_a_rollups_p95_is_cloudwatchs_own_one_day_percentile() -> None:
    # GIVEN GetMetricData stubbed with a known value per query for the day
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                             secrets={})
    metrics = AwsMetrics(clients=AwsClients(settings, QueryCache()), clock=lambda: NOW)
    apps = list(load_catalog(ROOT / "apps.toml").apps)
    queries = daily_queries(apps)
    start = datetime(2026, 3, 4, tzinfo=UTC)
    expected = {"MetricDataQueries": [metric_data_query(f"q{i}", q)
                                      for i, q in enumerate(queries)],
                "StartTime": start, "EndTime": start + timedelta(days=1),
                "ScanBy": "TimestampAscending"}
    response = {"MetricDataResults": [
        {"Id": f"q{i}", "Label": q.metric, "Timestamps": [start], "Values": [100.0 + i],
         "StatusCode": "Complete"} for i, q in enumerate(queries)]}
    with Stubber(metrics.clients.client("cloudwatch")) as cw:
        cw.add_response("get_metric_data", response, expected)
        # WHEN the day is fetched and aggregated
        frame = metrics.get_metric_data(queries, start=start, end=start + timedelta(days=1))
        cw.assert_no_pending_responses()
    rollups = aggregate(Fetched(RunRequest("day", DAY, DAY + timedelta(days=1)), frame,
                                pd.DataFrame(columns=["day", "app", "service", "metric",
                                                      "amount"]),
                                pd.DataFrame(columns=["day", "app", "key", "value"])),
                        app_ids=[a.id for a in apps], computed_ms=0)
    # THEN every query asked a one-day period, and the p95 stored is the value CloudWatch sent
    assert {q["MetricStat"]["Period"] for q in expected["MetricDataQueries"]} == {86_400}
    i = next(i for i, q in enumerate(queries)
             if (q.resource, q.metric, q.stat) == ("jobseek-public", "Latency", "p95"))
    (js,) = [r for r in rollups if r.app == "jobseek"]
    assert ("jobseek-public", "Latency", "p95", 100.0 + i) in js.metrics


def _rollups_source() -> AwsRollups:
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                             secrets={})
    return AwsRollups(clients=AwsClients(settings, QueryCache()), table=ROLLUPS_TABLE,
                      sleep=lambda s: None, jitter=lambda: 0.5)


def test_dynamodb_rollups_are_replaced_by_key_and_read_by_range() -> None:
    with mock_aws():
        # GIVEN the rollups table and 30 days of one app (more than one BatchWriteItem)
        _tables(boto3.client("dynamodb", region_name="us-east-1"))
        src = _rollups_source()
        days = [date(2026, 1, 1) + timedelta(days=i) for i in range(30)]
        first = [Rollup("a", d, (("api", "Count", "Sum", float(i)),), {}, {}, 1)
                 for i, d in enumerate(days)]
        # WHEN they are written twice, the second time with new values
        assert src.put_rollups(first) == 30
        src.put_rollups([replace(r, metrics=(("api", "Count", "Sum", -1.0),)) for r in first])
        # THEN a range read returns each day once, with the last values
        got = src.get_rollups(["a"], start=days[5], end=days[15])
        assert [r.day for r in got] == days[5:15]
        assert {r.metrics for r in got} == {(("api", "Count", "Sum", -1.0),)}
        scan = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=ROLLUPS_TABLE)
        assert scan["Count"] == 30
        # AND run records sort newest first
        for started, rid in ((5, "old"), (9, "new")):
            src.put_run(RunRecord(rid, backfill_request(days[0], days[1], today=TODAY),
                                  "succeeded", started))
        assert [r.run_id for r in src.list_runs(limit=5)] == ["new", "old"]


def test_unprocessed_rollups_are_resent_with_backoff() -> None:
    # GIVEN DynamoDB leaves one item unprocessed once
    src = _rollups_source()
    sleeps: list[float] = []
    src.sleep = sleeps.append
    r = Rollup("a", date(2026, 1, 1))
    item = {"PutRequest": {"Item": {"pk": {"S": "app#a"}, "sk": {"S": "2026-01-01"},
                                    "data": {"S": r.to_json()}, "computedMs": {"N": "0"}}}}
    with Stubber(src.clients.client("dynamodb")) as ddb:
        ddb.add_response("batch_write_item", {"UnprocessedItems": {ROLLUPS_TABLE: [item]}},
                         {"RequestItems": {ROLLUPS_TABLE: [item]}})
        ddb.add_response("batch_write_item", {"UnprocessedItems": {}},
                         {"RequestItems": {ROLLUPS_TABLE: [item]}})
        # WHEN the rollup is put
        written = src.put_rollups([r])
        ddb.assert_no_pending_responses()
    # THEN it was resent after one backoff sleep
    assert written == 1 and sleeps == [0.05]
    assert item_size(item["PutRequest"]["Item"]) > len(r.to_json())


def test_packs_go_to_s3_with_a_time_limited_link_and_an_sns_summary() -> None:
    with mock_aws():
        # GIVEN the reports bucket and topic
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                 secrets={})
        clients = AwsClients(settings, QueryCache())
        topic = "arn:aws:sns:us-east-1:123456789012:reports"
        reports = AwsReports(clients=clients, bucket=BUCKET, topic_arn=topic)
        # WHEN a pack is stored, linked and announced
        where = reports.put("reports/weekly/cost-review-2026-W10.html", b"<html>",
                            content_type="text/html")
        link = reports.link("reports/weekly/cost-review-2026-W10.html", expires_s=3600)
        with Stubber(clients.client("sns")) as sns:
            sns.add_response("publish", {"MessageId": "m1"},
                             {"TopicArn": topic, "Subject": "Cost review 2026-W10",
                              "Message": ANY})
            reports.notify("Cost review 2026-W10", f"the pack: {link}")
            sns.assert_no_pending_responses()
        # THEN it is in the bucket, listed, readable, and the link is presigned for an hour
        assert where == f"s3://{BUCKET}/reports/weekly/cost-review-2026-W10.html"
        assert [r.key for r in reports.list("reports/")] == [
            "reports/weekly/cost-review-2026-W10.html"]
        assert reports.get("reports/weekly/cost-review-2026-W10.html") == b"<html>"
        assert "X-Amz-Expires=3600" in link and "X-Amz-Signature=" in link


def test_the_backfill_button_starts_an_execution_named_after_the_request() -> None:
    # GIVEN the state machine's ARN and a clock at 2026-03-10 03:00 UTC
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                             secrets={})
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:central-analytics-pipeline"
    runner = AwsRunner(clients=AwsClients(settings, QueryCache()), state_machine_arn=arn,
                       clock=Clock(NOW))
    request = backfill_request(date(2026, 1, 1), date(2026, 1, 31), today=TODAY)
    name = "dashboard-backfill-2026-01-01-2026-02-01-20260310T03"
    with Stubber(runner.clients.client("stepfunctions")) as sfn:
        sfn.add_response("start_execution", {"executionArn": f"{arn}:x", "startDate": NOW},
                         {"stateMachineArn": arn, "name": name,
                          "input": '{"mode": "backfill", "from": "2026-01-01", '
                                   '"to": "2026-01-31", "trigger": "dashboard"}'})
        sfn.add_client_error("start_execution", "ExecutionAlreadyExists", "exists")
        # WHEN the button starts it, then is clicked again within the hour
        started = runner.start(request, trigger="dashboard")
        with pytest.raises(PipelineError, match="already started this hour"):
            runner.start(request, trigger="dashboard")
        sfn.assert_no_pending_responses()
    # THEN the execution input is the same event the schedules send, and it ran once
    assert started == f"{arn}:x"


def test_the_lambda_handlers_pass_a_run_through_staging_like_the_state_machine(
        aws_rt: tuple[Runtime, WithoutPercentiles], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import handlers

    rt, _ = aws_rt
    monkeypatch.setattr(handlers, "_runtime", rt)
    monkeypatch.setattr(handlers, "_today", lambda: NOW)
    # GIVEN the schedule's input for one day
    event = {"mode": "day", "date": DAY.isoformat(), "trigger": "schedule"}
    with Stubber(rt.sources.costs.clients.client("ce")) as ce:  # type: ignore[attr-defined]
        _ce_costs(ce, DAY)
        # WHEN each state's handler gets what Step Functions passes it
        state = handlers.fetch({"event": event, "run_id": "exec-1"})
    results = [handlers.aggregate({"event": state, "run_id": "exec-1"}),
               handlers.report({"event": state, "run_id": "exec-1"})]
    out = handlers.store({"event": {**state, "results": results}, "run_id": "exec-1"})
    # THEN the rollups are stored, the staging is gone and the run record has every step
    assert out["status"] == "succeeded" and out["counts"]["rollups"] == 3
    assert rt.sources.reports.list("staging/") == []
    (record,) = rt.sources.rollups.list_runs(limit=1)
    assert record.run_id == "exec-1" and record.trigger == "schedule"
    assert set(record.durations_s) == {"fetch", "aggregate", "report", "store"}
    (r,) = rt.sources.rollups.get_rollups(["jobseek"], start=DAY, end=DAY + timedelta(days=1))
    assert r.costs["UnblendedCost"] == {"AWS Lambda": 4.0}


def test_the_catch_records_a_failed_run_even_before_fetch_resolved_the_request(
        aws_rt: tuple[Runtime, WithoutPercentiles], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import handlers

    rt, _ = aws_rt
    monkeypatch.setattr(handlers, "_runtime", rt)
    monkeypatch.setattr(handlers, "_today", lambda: NOW)
    # GIVEN FetchData failed after its retries: the state is the input plus the error
    state = {"mode": "day", "trigger": "schedule",
             "error": {"Error": "UpstreamError", "Cause": "Cost Explorer throttled"}}
    # WHEN RecordFailure runs
    out = handlers.record_failure({"event": state, "run_id": "exec-2"})
    # THEN the failed run is on record with the error and the day it was for
    assert out == {"run_id": "exec-2", "status": "failed"}
    (record,) = rt.sources.rollups.list_runs(limit=1)
    assert record.error == "UpstreamError: Cost Explorer throttled"
    assert record.request.start == NOW.date() - timedelta(days=1)
