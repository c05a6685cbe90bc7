"""Alarms with 10 s / 30 s periods: charted at their own period inside the 3 hours CloudWatch
keeps high-resolution data, at 1 minute (with a note) after that. Before, every such alarm
read "CloudWatch keeps no 10-second data"."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from analytics.alarms import service as alarms
from analytics.alarms.aws import AwsAlarms
from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.catalog import parse_catalog
from analytics.core.periods import period_is_valid
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NAME = "shop-fast-latency"


def _runtime() -> tuple[Runtime, Stubber]:
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                             secrets={})
    catalog = parse_catalog({"apps": {"shop": {"display_name": "Shop",
                                               "namespace": "Shop/Business",
                                               "alarm_prefix": "shop-"}}}, Path("test.toml"))
    rt = build_runtime(settings, cache=QueryCache(), catalog=catalog)
    clients: AwsClients = rt.sources.alarms.clients  # type: ignore[attr-defined]
    rt.sources = dataclasses.replace(rt.sources, alarms=AwsAlarms(clients=clients,
                                                                  clock=lambda: NOW))
    return rt, Stubber(clients.client("cloudwatch"))


def _alarm(since: datetime, period: int) -> dict[str, Any]:
    return {"AlarmName": NAME, "AlarmArn": f"arn:aws:cloudwatch:us-east-1:1:alarm:{NAME}",
            "StateValue": "ALARM", "StateReason": "Threshold Crossed",
            "StateTransitionedTimestamp": since, "Namespace": "Shop/Business",
            "MetricName": "CheckoutLatency", "Dimensions": [], "ExtendedStatistic": "p99",
            "Period": period, "EvaluationPeriods": 3, "Threshold": 800.0,
            "ComparisonOperator": "GreaterThanThreshold"}


def _metric_period(seen: list[dict[str, Any]]) -> int:
    return int(seen[0]["MetricDataQueries"][0]["MetricStat"]["Period"])


@pytest.mark.parametrize(("ago", "drawn", "noted"), [
    (timedelta(minutes=20), 10, False),   # inside the 3 hours: its own 10 s period
    (timedelta(hours=5), 60, True),       # older: 1-minute aggregates, and the page says so
])
def test_a_10_second_alarm_is_charted(ago: timedelta, drawn: int, noted: bool) -> None:
    # GIVEN a p99 alarm with 10-second periods that fired ``ago``
    rt, stub = _runtime()
    stub.add_response("describe_alarms", {"MetricAlarms": [_alarm(NOW - ago, 10)],
                                          "CompositeAlarms": []}, None)
    stub.add_response("get_metric_data", {"MetricDataResults": [
        {"Id": "m0", "StatusCode": "Complete", "Timestamps": [NOW - ago], "Values": [900.0]}]},
        {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY,
         "ScanBy": "TimestampAscending"})
    seen: list[dict[str, Any]] = []
    rt.sources.alarms.clients.client("cloudwatch").meta.events.register(  # type: ignore[attr-defined]
        "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: seen.append(params))
    # WHEN its metric is drawn around the transition
    with stub:
        window = alarms.alarm_metric_window(rt, "shop", NAME, now=NOW).value
    stub.assert_no_pending_responses()
    # THEN it is asked for at a period CloudWatch still keeps, and the series comes back
    assert _metric_period(seen) == drawn
    assert window.series.tolist() == [900.0]
    assert window.end - window.start == timedelta(seconds=36 * drawn)
    assert ("1-minute resolution" in window.note) is noted


def test_high_resolution_periods_are_valid_for_3_hours_only() -> None:
    hi = {"high_resolution": True}
    assert period_is_valid(10, NOW - timedelta(hours=2, minutes=59), NOW, **hi)
    assert period_is_valid(30, NOW - timedelta(minutes=1), NOW, **hi)
    assert not period_is_valid(10, NOW - timedelta(hours=3, minutes=1), NOW, **hi)
    assert not period_is_valid(20, NOW - timedelta(minutes=1), NOW, **hi)  # no such period
    assert period_is_valid(60, NOW - timedelta(hours=5), NOW, **hi)
    # a standard-resolution metric has no sub-minute data at all
    assert not period_is_valid(30, NOW - timedelta(minutes=1), NOW)
