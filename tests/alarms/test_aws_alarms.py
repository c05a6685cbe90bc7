"""aws backend: DescribeAlarms paging and selection (moto), history and metric (Stubber, moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import moto.cloudwatch.models as moto_cloudwatch
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from analytics.alarms import service as alarms
from analytics.alarms.aws import AwsAlarms, alarm_queries, console_url
from analytics.alarms.config import parse_alarms
from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK
from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.catalog import App, Catalog, Resources, load_catalog
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime
from tests.conftest import NOW, frozen_clock

REGION = "eu-west-1"
N_ILY, N_JS = 130, 105  # both over DescribeAlarms' 100-record page


def make_app(app_id: str, prefix: str, alarms_extra: object = None) -> App:
    extra = {} if alarms_extra is None else {"alarms": alarms_extra}
    return App(id=app_id, display_name=app_id, cost_tag=app_id, namespace=f"{app_id}/Business",
               resources=Resources(), alarm_prefix=prefix, extra=extra)


@pytest.fixture
def aws(aws_paging: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, object]]:
    """moto with 130 + 105 alarms under two prefixes, a composite alarm and tagged alarms;
    moto's CloudWatch and the runtime share the suite's frozen clock."""
    monkeypatch.setattr(moto_cloudwatch, "utcnow", lambda: NOW.replace(tzinfo=None))
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name=REGION)
        for prefix, n in (("ilikeyacut-", N_ILY), ("jobseek-", N_JS)):
            for i in range(n):
                tags = [{"Key": "Team", "Value": "payments"}] if i % 10 == 0 else []
                cw.put_metric_alarm(
                    AlarmName=f"{prefix}fn{i:03d}-errors", Namespace="AWS/Lambda",
                    MetricName="Errors", Dimensions=[{"Name": "FunctionName",
                                                      "Value": f"{prefix}fn{i:03d}"}],
                    Statistic="Sum", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2,
                    Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold",
                    TreatMissingData="notBreaching", Tags=tags)
        cw.put_composite_alarm(
            AlarmName="ilikeyacut-composite-health",
            AlarmRule='ALARM("ilikeyacut-fn000-errors") OR ALARM("ilikeyacut-fn001-errors")',
            Tags=[{"Key": "Team", "Value": "payments"}])
        cw.put_metric_alarm(AlarmName="shared-db-cpu", Namespace="AWS/RDS",
                            MetricName="CPUUtilization", Statistic="Average", Period=300,
                            EvaluationPeriods=1, Threshold=90,
                            ComparisonOperator="GreaterThanThreshold",
                            Tags=[{"Key": "Team", "Value": "payments"}])
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": REGION},
                                 secrets={})
        clock = frozen_clock()
        cache = QueryCache(clock=clock)
        catalog = Catalog(apps=(make_app("ilikeyacut", "ilikeyacut-"),
                                make_app("jobseek", "jobseek-"),
                                make_app("payments", "payments-", {"tags": {"Team": "payments"}})),
                          path=Path("apps.toml"))
        yield build_runtime(settings, cache=cache, catalog=catalog, clock=clock), cw


def test_prefix_selection_pages_through_every_alarm(aws) -> None:
    rt, _ = aws
    app = rt.catalog.get("ilikeyacut")
    infos = rt.sources.alarms.alarm_infos(app, parse_alarms(app))
    names = [i.name for i in infos]
    assert len(names) == len(set(names)) == N_ILY + 1
    assert all(n.startswith("ilikeyacut-") for n in names)
    composite = next(i for i in infos if i.kind == "composite")
    assert composite.name == "ilikeyacut-composite-health"
    assert composite.rule.startswith('ALARM("ilikeyacut-fn000-errors")')
    assert composite.evaluation is None and composite.spec is None
    # 131 alarms in pages of 100: two DescribeAlarms calls, the second with the NextToken.
    assert rt.cache.aws_calls["cloudwatch.DescribeAlarms"] == 2
    ev = infos[0].evaluation
    assert (ev.period, ev.evaluation_periods, ev.datapoints_to_alarm, ev.threshold,
            ev.treat_missing_data) == (60, 3, 2, 5.0, "notBreaching")
    assert infos[0].console_url == console_url(REGION, infos[0].name)


def test_the_other_prefix_gets_only_its_own(aws) -> None:
    rt, _ = aws
    app = rt.catalog.get("jobseek")
    names = {i.name for i in rt.sources.alarms.alarm_infos(app, parse_alarms(app))}
    assert len(names) == N_JS and all(n.startswith("jobseek-") for n in names)


def test_tag_selection_crosses_prefixes_and_includes_composites(aws) -> None:
    rt, _ = aws
    app = rt.catalog.get("payments")
    infos = rt.sources.alarms.alarm_infos(app, parse_alarms(app))
    names = {i.name for i in infos}
    want = {f"ilikeyacut-fn{i:03d}-errors" for i in range(0, N_ILY, 10)} | {
        f"jobseek-fn{i:03d}-errors" for i in range(0, N_JS, 10)} | {
        "ilikeyacut-composite-health", "shared-db-cpu"}
    assert names == want
    assert {i.app for i in infos} == {"payments"}
    assert rt.cache.aws_calls["resourcegroupstaggingapi.GetResources"] == 1


def test_tag_selection_asks_for_at_most_100_names_per_call(aws) -> None:
    rt, cw = aws
    for i in range(N_ILY):  # tag every ilikeyacut alarm: 130 + 12 + 2 tagged names in all
        arn = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:ilikeyacut-fn{i:03d}-errors"
        cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "Team", "Value": "payments"}])
    app = rt.catalog.get("payments")
    infos = rt.sources.alarms.alarm_infos(app, parse_alarms(app))
    assert len(infos) == N_ILY + 11 + 2
    assert rt.cache.aws_calls["cloudwatch.DescribeAlarms"] == 2


def test_states_through_the_data_layer_alarm_first_and_cached(aws) -> None:
    rt, cw = aws
    cw.set_alarm_state(AlarmName="jobseek-fn007-errors", StateValue="ALARM",
                       StateReason="Threshold Crossed: 3 datapoints were >= 5")
    cw.set_alarm_state(AlarmName="ilikeyacut-fn042-errors", StateValue="INSUFFICIENT_DATA",
                       StateReason="no data")
    apps = [rt.catalog.get("ilikeyacut"), rt.catalog.get("jobseek")]
    res = alarms.alarm_states(rt, apps)
    assert [i.name for i in res.value[:2]] == ["jobseek-fn007-errors", "ilikeyacut-fn042-errors"]
    assert [i.state for i in res.value[:2]] == [ALARM, INSUFFICIENT_DATA]
    assert {i.state for i in res.value[2:]} == {OK}
    assert res.value[0].reason.startswith("Threshold Crossed")
    assert alarms.firing_counts(rt, apps) == {"ilikeyacut": 0, "jobseek": 1}
    calls = rt.cache.aws_calls["cloudwatch.DescribeAlarms"]
    alarms.alarm_states(rt, apps)  # within 60 s: served from the cache
    assert rt.cache.aws_calls["cloudwatch.DescribeAlarms"] == calls == 4


def test_metric_window_reads_the_alarms_metric(aws) -> None:
    rt, cw = aws
    now = NOW.replace(second=0, microsecond=0)
    fn = "jobseek-fn003"
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": fn}],
         "Timestamp": now - timedelta(minutes=k), "Value": float(k)} for k in range(1, 20)])
    cw.set_alarm_state(AlarmName=f"{fn}-errors", StateValue="ALARM", StateReason="test")
    window = alarms.alarm_metric_window(rt, "jobseek", f"{fn}-errors").value
    assert window.info.evaluation.threshold == 5.0
    assert len(window.series) >= 15
    assert window.series.max() == 19.0 and window.series.min() == 1.0
    assert rt.cache.aws_calls["cloudwatch.GetMetricData"] == 1


def test_math_alarms_are_redrawn_with_their_own_queries() -> None:
    alarm = {"AlarmName": "x", "Metrics": [
        {"Id": "errors", "ReturnData": False, "MetricStat": {"Metric": {
            "Namespace": "AWS/ApiGateway", "MetricName": "5xx",
            "Dimensions": [{"Name": "ApiId", "Value": "a1"}]}, "Period": 300, "Stat": "Sum"}},
        {"Id": "rate", "Expression": "100 * errors / requests", "Label": "5xx %",
         "ReturnData": True, "AccountId": "123"}]}
    qs = alarm_queries(alarm)
    assert [q["Id"] for q in qs] == ["errors", "rate"]
    assert qs[1] == {"Id": "rate", "Expression": "100 * errors / requests", "Label": "5xx %",
                     "ReturnData": True}


def _history_item(at: datetime, old: str, new: str, reason: str) -> dict[str, object]:
    return {"AlarmName": "jobseek-fn001-errors", "AlarmType": "MetricAlarm", "Timestamp": at,
            "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old} to {new}",
            "HistoryData": json.dumps({"version": "1.0", "oldState": {"stateValue": old},
                                       "newState": {"stateValue": new,
                                                    "stateReason": reason}})}


def test_history_is_paged_and_parsed() -> None:
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": REGION}, secrets={})
    backend = AwsAlarms(clients=AwsClients(settings, QueryCache()))
    stub = Stubber(backend.clients.client("cloudwatch"))
    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    start, end = t0 - timedelta(hours=1), t0 + timedelta(hours=3)
    base = {"AlarmName": "jobseek-fn001-errors", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
            "HistoryItemType": "StateUpdate", "StartDate": start, "EndDate": end,
            "MaxRecords": 100, "ScanBy": "TimestampAscending"}
    stub.add_response("describe_alarm_history", {"AlarmHistoryItems": [
        _history_item(t0, OK, ALARM, "Threshold Crossed: 2 of 3"),
        {**_history_item(t0 + timedelta(minutes=30), ALARM, OK, ""), "HistoryData": "{bad"},
    ], "NextToken": "page-2"}, base)
    stub.add_response("describe_alarm_history", {"AlarmHistoryItems": [
        _history_item(t0 + timedelta(hours=2), OK, ALARM, "again")]},
        {**base, "NextToken": "page-2"})
    app = make_app("jobseek", "jobseek-")
    with stub:
        got = backend.alarm_transitions(app, parse_alarms(app), "jobseek-fn001-errors",
                                        start=start, end=end)
    stub.assert_no_pending_responses()
    assert [(t.old, t.new) for t in got] == [(OK, ALARM), (ALARM, OK), (OK, ALARM)]
    assert got[0].reason == "Threshold Crossed: 2 of 3"
    assert got[1].reason == "Alarm updated from ALARM to OK"  # summary when data is unreadable
    assert got[2].at == t0 + timedelta(hours=2)


def test_console_link_escapes_the_name() -> None:
    assert console_url("us-east-1", "jobseek api/5xx rate") == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#alarmsV2:alarm/jobseek%20api%2F5xx%20rate")


def test_shipped_catalog_selects_by_prefix() -> None:
    cat = load_catalog(Path(__file__).resolve().parents[2] / "apps.toml")
    assert [parse_alarms(a, cat.path).prefix for a in cat.apps] == ["ilikeyacut-", "jobseek-"]
