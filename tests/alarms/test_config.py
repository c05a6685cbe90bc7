"""Alarm definitions from apps.toml: defaults, overrides, both TOML shapes, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from analytics.alarms.config import DEFAULT_KINDS, AlarmConfigError, parse_alarms
from analytics.core.catalog import load_catalog
from analytics.metrics.queries import TIDY_COLUMNS
from tests.conftest import ROOT

APP = """
[apps.shop]
alarm_prefix = "shop-"
slo_p95_ms = 180
[apps.shop.resources]
apis = [{ id = "abc123", name = "shop-api", kind = "http" }]
lambdas = ["shop-checkout", "shop-search"]
dynamodb_tables = ["shop-orders"]
"""


def load(tmp_path: Path, alarms: str = "") -> tuple[object, Path]:
    path = tmp_path / "apps.toml"
    path.write_text(APP + alarms)
    return load_catalog(path).get("shop"), path


def test_defaults_when_the_catalog_says_nothing(tmp_path: Path) -> None:
    app, path = load(tmp_path)
    cfg = parse_alarms(app, path)  # type: ignore[arg-type]
    assert {r.kind for r in cfg.rules} == set(DEFAULT_KINDS)
    names = {r.name: r for r in cfg.rules}
    assert set(names) == {"shop-api-5xx-rate", "shop-api-p95-latency",
                          "shop-checkout-error-rate", "shop-search-error-rate",
                          "shop-orders-throttles"}
    latency = names["shop-api-p95-latency"]
    assert latency.evaluation.threshold == 180.0 and latency.numerator.stat == "p95"
    assert latency.evaluation.operator == "GreaterThanThreshold"
    rate = names["shop-api-5xx-rate"]
    assert rate.numerator.metric_name == "5xx" and rate.denominator is not None
    assert rate.denominator.metric_name == "Count" and rate.unit == "%"
    assert names["shop-orders-throttles"].namespace == "AWS/DynamoDB"
    assert cfg.prefix == "shop-" and cfg.tags == {}


def test_rules_add_kinds_and_replace_defaults_of_the_same_kind(tmp_path: Path) -> None:
    app, path = load(tmp_path, """
[apps.shop.alarms]
tags = { Application = "shop", Team = "web" }
[[apps.shop.alarms.rules]]
kind = "api_p95_latency"
statistic = "p99"
threshold = 400
evaluation_periods = 5
[[apps.shop.alarms.rules]]
kind = "lambda_throttles"
resources = ["shop-search"]
treat_missing_data = "breaching"
""")
    cfg = parse_alarms(app, path)  # type: ignore[arg-type]
    latency = [r for r in cfg.rules if r.kind == "api_p95_latency"]
    assert len(latency) == 1 and latency[0].numerator.stat == "p99"
    ev = latency[0].evaluation
    # AWS: DatapointsToAlarm defaults to EvaluationPeriods when only the latter is given.
    assert (ev.threshold, ev.evaluation_periods, ev.datapoints_to_alarm) == (400.0, 5, 5)
    throttles = [r for r in cfg.rules if r.kind == "lambda_throttles"]
    assert [r.name for r in throttles] == ["shop-search-throttles"]
    assert throttles[0].evaluation.treat_missing_data == "breaching"
    assert cfg.tags == {"Application": "shop", "Team": "web"}


def test_array_of_tables_shape_and_defaults_off(tmp_path: Path) -> None:
    app, path = load(tmp_path, """
[[apps.shop.alarms]]
kind = "metric"
name = "orders-low"
namespace = "Shop/Business"
metric_name = "Orders"
dimensions = { Channel = "web" }
statistic = "Sum"
threshold = 3
comparison = "<"
treat_missing_data = "breaching"
""")
    cfg = parse_alarms(app, path)  # type: ignore[arg-type]
    custom = cfg.rule("shop-orders-low")
    assert custom.numerator.dimensions == (("Channel", "web"),)
    assert custom.evaluation.operator == "LessThanThreshold"
    assert len(cfg.rules) == 1 + 5  # the bare array keeps the defaults
    app2, path2 = load(tmp_path, '[apps.shop.alarms]\ndefaults = false\n')
    assert parse_alarms(app2, path2).rules == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(("alarms", "field"), [
    ('[[apps.shop.alarms.rules]]\nkind = "cpu"\n', "alarms.rules[0].kind"),
    ('[[apps.shop.alarms.rules]]\nkind = "api_5xx_rate"\nthreshold = "high"\n',
     "alarms.rules[0].threshold"),
    ('[[apps.shop.alarms.rules]]\nkind = "api_5xx_rate"\nevaluation_periods = 2\n'
     'datapoints_to_alarm = 3\n', "alarms.rules[0].datapoints_to_alarm"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\nresources = ["nope"]\n',
     "alarms.rules[0].resources"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\ntreat_missing_data = "zero"\n',
     "alarms.rules[0].treat_missing_data"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\ncomparison = "=="\n',
     "alarms.rules[0].comparison"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\nstatistic = "p99"\n',
     "alarms.rules[0].statistic"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\nperiod = 90\n',
     "alarms.rules[0].period"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\ncolour = "red"\n',
     "alarms.rules[0].colour"),
    ('[[apps.shop.alarms.rules]]\nkind = "metric"\nnamespace = "N"\nmetric_name = "M"\n'
     'threshold = 1\n', "alarms.rules[0].name"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\nnamespace = "N"\n',
     "alarms.rules[0].namespace"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\n[[apps.shop.alarms.rules]]\n'
     'kind = "lambda_errors"\n', "alarms.rules"),
    ('[apps.shop.alarms]\ntags = ["Application"]\n', "alarms.tags"),
    ('[apps.shop.alarms]\nrecipients = []\n', "alarms.recipients"),
    ('[apps.shop.alarms]\ndefaults = "yes"\n', "alarms.defaults"),
])
def test_malformed_alarms_name_file_app_and_field(tmp_path: Path, alarms: str,
                                                  field: str) -> None:
    app, path = load(tmp_path, alarms)
    with pytest.raises(AlarmConfigError) as err:
        parse_alarms(app, path)  # type: ignore[arg-type]
    msg = str(err.value)
    assert str(path) in msg and "app 'shop'" in msg and f"field '{field}'" in msg


def test_empty_prefix_needs_tags(tmp_path: Path) -> None:
    path = tmp_path / "apps.toml"
    path.write_text(APP.replace('alarm_prefix = "shop-"', 'alarm_prefix = ""'))
    app = load_catalog(path).get("shop")
    with pytest.raises(AlarmConfigError, match=r"field 'alarms\.tags'"):
        parse_alarms(app, path)
    path.write_text(path.read_text() + '[apps.shop.alarms]\ntags = { Team = "web" }\n')
    assert parse_alarms(load_catalog(path).get("shop"), path).tags == {"Team": "web"}


def test_shipped_catalog_alarms() -> None:
    cat = load_catalog(ROOT / "apps.toml")
    ily = parse_alarms(cat.get("ilikeyacut"), cat.path)
    names = [r.name for r in ily.rules]
    assert all(n.startswith("ilikeyacut-") for n in names)
    assert "ilikeyacut-api-5xx-rate" in names and "ilikeyacut-gallery-throttles" in names
    assert ily.rule("ilikeyacut-api-p95-latency").evaluation.threshold == 200.0
    js = parse_alarms(cat.get("jobseek"), cat.path)
    lat = js.rule("jobseek-public-p95-latency").evaluation
    assert (lat.threshold, lat.evaluation_periods, lat.datapoints_to_alarm) == (250.0, 5, 3)
    # The REST API is measured by ApiName + Stage, the HTTP API by ApiId.
    assert js.rule("jobseek-public-5xx-rate").numerator.dimensions == (
        ("ApiName", "jobseek-public"), ("Stage", "prod"))
    assert js.rule("jobseek-internal-5xx-rate").numerator.metric_name == "5xx"


def test_ratio_values_skip_periods_without_requests(tmp_path: Path) -> None:
    app, path = load(tmp_path)
    rule = parse_alarms(app, path).rule("shop-api-5xx-rate")  # type: ignore[arg-type]
    t = [pd.Timestamp(datetime(2026, 3, 2, 9, m, tzinfo=UTC)) for m in (0, 5, 10)]
    rows = [(t[0], "shop", "shop-api", "5XXError", "Sum", 3.0),
            (t[0], "shop", "shop-api", "Count", "Sum", 60.0),
            (t[1], "shop", "shop-api", "Count", "Sum", 0.0),
            (t[2], "shop", "shop-api", "Count", "Sum", 40.0)]
    frame = pd.DataFrame(rows, columns=TIDY_COLUMNS)
    values = rule.values(frame)
    assert list(values.index) == [t[0], t[2]]
    assert values.tolist() == [5.0, 0.0]  # 3/60 = 5 %; no 5xx datapoint with 40 requests: 0 %


def test_datapoints_default_to_evaluation_periods_only_when_those_are_given(
        tmp_path: Path) -> None:
    # GIVEN the default Lambda error-rate rule (2 of 3), and the same kind with N = 3 given
    default_app, path = load(tmp_path)
    given_app, _ = load(tmp_path, '[[apps.shop.alarms.rules]]\nkind = "lambda_error_rate"\n'
                        'evaluation_periods = 3\n')
    # WHEN both are parsed
    default = parse_alarms(default_app, path)  # type: ignore[arg-type]
    given = parse_alarms(given_app, path)  # type: ignore[arg-type]
    # THEN as on AWS: DatapointsToAlarm follows EvaluationPeriods only when that was set
    d = default.rule("shop-checkout-error-rate").evaluation
    g = given.rule("shop-checkout-error-rate").evaluation
    assert (d.evaluation_periods, d.datapoints_to_alarm) == (3, 2)
    assert (g.evaluation_periods, g.datapoints_to_alarm) == (3, 3)


@pytest.mark.parametrize(("alarms", "message"), [
    ('[[apps.shop.alarms.rules]]\nkind = "api_5xx_rate"\nevaluation_periods = 2\n'
     'datapoints_to_alarm = 3\n', "field 'alarms.rules[0].datapoints_to_alarm': "
     "datapoints_to_alarm must be between 1 and evaluation_periods (2), got 3"),
    ('[[apps.shop.alarms.rules]]\nkind = "lambda_errors"\nstatistic = "p99"\n',
     "field 'alarms.rules[0].statistic': fixed to Sum for kind 'lambda_errors'"),
    ('[[apps.shop.alarms.rules]]\nkind = "metric"\nname = "n"\nnamespace = "N"\n'
     'metric_name = "M"\n', "field 'alarms.rules[0].threshold': required for kind 'metric'"),
    ('[apps.shop.alarms]\nrecipients = []\n',
     "field 'alarms.recipients': unknown key; expected one of ['defaults', 'rules', 'tags']"),
])
def test_the_message_says_what_is_wrong(tmp_path: Path, alarms: str, message: str) -> None:
    # GIVEN an alarms table with one mistake
    app, path = load(tmp_path, alarms)
    # WHEN it is parsed
    with pytest.raises(AlarmConfigError) as err:
        parse_alarms(app, path)  # type: ignore[arg-type]
    # THEN the message names the field and says what is wrong
    assert str(err.value) == f"{path}: app 'shop', {message}"
