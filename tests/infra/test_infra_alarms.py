"""Alarms: encrypted topic, HighErrorRate, HighCost (us-east-1 only) and per-app alarms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.infra._cdk import Synth, catalog, ref_id, synth


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-alarms")))


@pytest.fixture(scope="module")
def eu(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(
        Path(tmp_path_factory.mktemp("cdk-alarms-eu")),
        {"region": "eu-west-1", "high_cost_threshold": "250"},
    )


@pytest.fixture(scope="module")
def cheap(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-alarms-cheap")),
                 {"high_cost_threshold": "250", "alarm_email": "ops@example.com"})


def _alarms(s: Synth) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties."""
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in s.resources("AWS::CloudWatch::Alarm").values()
    }


def test_topic_is_kms_encrypted_and_ssl_only(s: Synth) -> None:
    topic_id, topic = s.one("AWS::SNS::Topic")
    key_id = ref_id(topic["Properties"]["KmsMasterKeyId"])
    key = s.tpl["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    key_stmts = key["Properties"]["KeyPolicy"]["Statement"]
    cw = [st for st in key_stmts
          if st.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert cw and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cw[0]["Action"])
    policy = s.props("AWS::SNS::TopicPolicy")
    assert {"Ref": topic_id} in policy["Topics"]
    stmts = policy["PolicyDocument"]["Statement"]
    deny = [st for st in stmts if st["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = [st for st in stmts if st["Effect"] == "Allow"]
    assert [(st["Principal"], st["Action"]) for st in allow] == [
        ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
    ]


def test_every_alarm_notifies_the_topic(s: Synth) -> None:
    topic = {"Ref": s.one("AWS::SNS::Topic")[0]}
    for name, props in _alarms(s).items():
        assert props["AlarmActions"] == [topic], name
        assert props["OKActions"] == [topic], name


def test_high_error_rate_alarm(s: Synth) -> None:
    props = _alarms(s)["central-analytics-HighErrorRate"]
    fn_id = s.one("AWS::Lambda::Function")[0]
    assert props["Namespace"] == "AWS/Lambda" and props["MetricName"] == "Errors"
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn_id}}]
    assert props["Statistic"] == "Sum"
    assert props["Threshold"] == 10
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["EvaluationPeriods"] == 2 and props["DatapointsToAlarm"] == 2


def test_high_cost_alarm_in_us_east_1(s: Synth, cheap: Synth) -> None:
    props = _alarms(s)["central-analytics-HighCost"]
    assert props["Namespace"] == "AWS/Billing" and props["MetricName"] == "EstimatedCharges"
    assert props["Dimensions"] == [{"Name": "Currency", "Value": "USD"}]
    assert props["Statistic"] == "Maximum"
    assert props["Period"] == 6 * 3600
    assert props["Threshold"] == 1000
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert _alarms(cheap)["central-analytics-HighCost"]["Threshold"] == 250


def test_high_cost_alarm_only_where_billing_metrics_exist(eu: Synth) -> None:
    assert "central-analytics-HighCost" not in _alarms(eu)
    assert "central-analytics-HighErrorRate" in _alarms(eu)
    warnings = [e["data"] for entries in eu.stack_metadata().values() for e in entries
                if e["type"] == "aws:cdk:warning"]
    assert any("us-east-1" in w and "HighCost" in w for w in warnings)


def test_alarm_email_subscription_is_optional(s: Synth, cheap: Synth) -> None:
    assert not s.resources("AWS::SNS::Subscription")
    sub = cheap.props("AWS::SNS::Subscription")
    assert sub["Protocol"] == "email" and sub["Endpoint"] == "ops@example.com"


def test_per_app_api_5xx_rate_alarms(s: Synth) -> None:
    alarms = _alarms(s)
    for app_id, body in catalog().items():
        prefix = body["alarm_prefix"]
        for api in body["resources"]["apis"]:
            matches = [p for n, p in alarms.items()
                       if n.startswith(prefix) and api["name"] in n and n.endswith("5xx-rate")]
            assert len(matches) == 1, (app_id, api)
            metrics = {m["Id"]: m for m in matches[0]["Metrics"]}
            expr = [m for m in metrics.values() if "Expression" in m]
            assert len(expr) == 1 and expr[0]["Expression"] == "100 * errors / requests"
            assert expr[0].get("ReturnData", True) is True
            errors = metrics["errors"]["MetricStat"]
            requests = metrics["requests"]["MetricStat"]
            for stat in (errors, requests):
                assert stat["Metric"]["Namespace"] == "AWS/ApiGateway"
                assert stat["Stat"] == "Sum"
            if api["kind"] == "http":
                dims = [{"Name": "ApiId", "Value": api["id"]}]
                assert errors["Metric"]["MetricName"] == "5xx"
            else:
                dims = [{"Name": "ApiName", "Value": api["name"]},
                        {"Name": "Stage", "Value": api["stage"]}]
                assert errors["Metric"]["MetricName"] == "5XXError"
            assert requests["Metric"]["MetricName"] == "Count"
            for stat in (errors, requests):
                assert sorted(stat["Metric"]["Dimensions"], key=lambda d: d["Name"]) == dims


def test_per_app_lambda_error_alarms(s: Synth) -> None:
    alarms = _alarms(s)
    for app_id, body in catalog().items():
        prefix = body["alarm_prefix"]
        for fn in body["resources"]["lambdas"]:
            matches = [p for n, p in alarms.items() if n.startswith(prefix)
                       and p.get("Dimensions") == [{"Name": "FunctionName", "Value": fn}]]
            assert len(matches) == 1, (app_id, fn)
            assert matches[0]["Namespace"] == "AWS/Lambda"
            assert matches[0]["MetricName"] == "Errors"


def test_alarm_names_and_count(s: Synth) -> None:
    apps = catalog()
    prefixes = tuple(body["alarm_prefix"] for body in apps.values())
    names = set(_alarms(s))
    per_app = {n for n in names if n.startswith(prefixes)}
    assert names - per_app == {"central-analytics-HighErrorRate", "central-analytics-HighCost"}
    expected = sum(len(b["resources"]["apis"]) + len(b["resources"]["lambdas"])
                   for b in apps.values())
    assert len(per_app) == expected
    assert len(names) == len(s.resources("AWS::CloudWatch::Alarm")), "alarm names are unique"
