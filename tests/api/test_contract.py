"""The same GraphQL cases on the local twin (HTTP) and on the AppSync Lambda (moto): the
numbers, the per-app authorization, and the error codes of bad arguments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from analytics.api.inputs import aws_datetime
from tests.api.conftest import Side

METRICS = """query($app: String!, $type: MetricType!, $start: String!, $end: String!,
                  $g: Granularity, $stats: [String!], $name: String) {
  getMetrics(applicationId: $app, metricType: $type, startTime: $start, endTime: $end,
             granularity: $g, statistics: $stats, metricName: $name) {
    applicationId metricType metricName periodSeconds granularity startTime endTime
    series { resource statistic points { timestamp value } } stale
  }
}"""
COSTS = """query($s: String!, $e: String!) {
  getCostAnalysis(startDate: $s, endDate: $e) {
    total untagged byApplication { applicationId amount } byService { name amount }
    daily { date amount }
  }
}"""
REALTIME = """query($app: String!) {
  getRealtimeMetrics(applicationId: $app) { applicationId service { key lines { name } } }
}"""
RECORD = """mutation($app: String!, $name: String!, $v: Float!, $unit: String) {
  recordCustomMetric(applicationId: $app, metricName: $name, value: $v, unit: $unit) {
    accepted applicationId metricName
  }
}"""


def window(side: Side, hours: float = 3, ago_days: float = 0) -> dict[str, str]:
    end = side.now - timedelta(days=ago_days)
    return {"start": aws_datetime(end - timedelta(hours=hours)), "end": aws_datetime(end)}


def metrics_vars(side: Side, **extra: Any) -> dict[str, Any]:
    return {"app": side.app, "type": "REQUESTS", **window(side), **extra}


def test_requests_per_api_add_up_to_what_the_backend_holds(side: Side) -> None:
    # GIVEN the viewer's app over the last 3 hours
    # WHEN its requests are read with the default statistic (Sum)
    data, errors = side.run(METRICS, metrics_vars(side), "viewer")
    # THEN there is one Sum series per API, aligned to 60 s, and they add up to the backend's
    assert errors == []
    answer = data["getMetrics"]
    assert (answer["granularity"], answer["periodSeconds"]) == ("AUTO", 60)
    totals = {s["resource"]: sum(p["value"] for p in s["points"]) for s in answer["series"]}
    assert {s["statistic"] for s in answer["series"]} == {"Sum"}
    if side.name == "aws":
        acct = side.extra["account"]
        assert totals == {"shop-public": acct.total("Count", ApiName="shop-public",
                                                     Stage="prod"),
                          "shop-internal": acct.total("Count", ApiId=acct.http_ids["shop"],
                                                      Stage="live")}
    else:
        rt = side.extra["twin"].rt
        from analytics.core.periods import make_range
        from analytics.metrics.queries import api_query
        from analytics.metrics.service import fetch_metrics

        app = rt.catalog.get("jobseek")
        tr = make_range(side.now - timedelta(hours=3), side.now, now=side.now,
                        include_previous=False)
        frame = fetch_metrics(rt, [api_query("jobseek", a, "Count", stat="Sum", period=60)
                                   for a in app.resources.apis], start=tr.start,
                              end=tr.end).value
        assert totals == frame.groupby("resource")["value"].sum().to_dict()
        assert all(v > 0 for v in totals.values())


def test_percentiles_and_explicit_granularity(side: Side) -> None:
    data, errors = side.run(METRICS, metrics_vars(side, type="LATENCY", g="FIVE_MINUTES",
                                                  stats=["p95", "Maximum"]), "viewer")
    assert errors == []
    series = data["getMetrics"]["series"]
    assert data["getMetrics"]["periodSeconds"] == 300
    assert {s["statistic"] for s in series} == {"p95", "Maximum"}
    for resource in {s["resource"] for s in series}:
        by = {s["statistic"]: s for s in series if s["resource"] == resource}
        pairs = zip(by["p95"]["points"], by["Maximum"]["points"], strict=True)
        assert all(p["value"] <= m["value"] + 1e-9 for p, m in pairs)


@pytest.mark.parametrize(("who", "change", "code"), [
    ("viewer", {"app": "OTHER"}, "FORBIDDEN"),
    ("admin", {"app": "nope"}, "UNKNOWN_APPLICATION"),
    ("viewer", {"swap": True}, "BAD_RANGE"),
    ("viewer", {"ago_days": 500}, "RANGE_TOO_OLD"),
    ("viewer", {"ago_days": 20, "g": "MINUTE"}, "BAD_GRANULARITY"),
    ("viewer", {"g": "MINUTE", "hours": 48}, "TOO_MANY_POINTS"),
    ("viewer", {"stats": ["p101"]}, "BAD_STATISTIC"),
    ("viewer", {"stats": ["Median"]}, "BAD_STATISTIC"),
    ("viewer", {"start": "yesterday"}, "BAD_ARGUMENT"),
    ("viewer", {"type": "CUSTOM"}, "BAD_ARGUMENT"),
    ("viewer", {"type": "CUSTOM", "name": "NoSuchMetric"}, "UNKNOWN_METRIC"),
])
def test_bad_arguments_are_errors_with_a_code(side: Side, who: str, change: dict[str, Any],
                                               code: str) -> None:
    # GIVEN one wrong thing in an otherwise valid request
    change = dict(change)
    variables = metrics_vars(side)
    variables.update(window(side, change.pop("hours", 3), change.pop("ago_days", 0)))
    if change.pop("swap", False):
        variables["start"], variables["end"] = variables["end"], variables["start"]
    if change.get("app") == "OTHER":
        change["app"] = side.other
    variables.update(change)
    # WHEN it is run
    data, errors = side.run(METRICS, variables, who)
    # THEN the answer is that error code and no data
    assert errors == [code]
    assert data is None


def test_custom_metrics_read_through_the_custom_service(side: Side) -> None:
    data, errors = side.run(METRICS, metrics_vars(side, type="CUSTOM", name=side.custom_metric,
                                                  stats=["Sum", "SampleCount"],
                                                  **window(side, hours=1)), "viewer")
    assert errors == []
    series = data["getMetrics"]["series"]
    total = sum(p["value"] for s in series if s["statistic"] == "Sum" for p in s["points"])
    count = sum(p["value"] for s in series if s["statistic"] == "SampleCount"
                for p in s["points"])
    if side.name == "aws":
        assert (total, count) == (sum(side.custom_values), len(side.custom_values))
    else:
        store = side.extra["twin"].rt.local.store
        start = int((side.now - timedelta(hours=1)).timestamp() * 1000) // 60_000 * 60_000
        end = int(side.now.timestamp() * 1000) // 60_000 * 60_000
        expected = store.cursor().execute(
            "SELECT sum(value), count(*) FROM custom_metrics WHERE app = 'jobseek' AND "
            "metric_name = ? AND ts_ms >= ? AND ts_ms < ?",
            [side.custom_metric, start, end]).fetchone()
        assert count == expected[1] and total == pytest.approx(expected[0])


def test_costs_of_a_viewer_are_its_apps_only(side: Side) -> None:
    month = side.now.date().replace(day=1)
    last = (month - timedelta(days=1)).replace(day=1)
    variables = {"s": last.isoformat(), "e": month.isoformat()}
    viewer, v_errors = side.run(COSTS, variables, "viewer")
    admin, a_errors = side.run(COSTS, variables, "admin")
    assert v_errors == a_errors == []
    mine = viewer["getCostAnalysis"]
    assert [a["applicationId"] for a in mine["byApplication"]] == [side.app]
    assert mine["untagged"] is None
    assert mine["total"] == pytest.approx(mine["byApplication"][0]["amount"])
    everyone = admin["getCostAnalysis"]
    assert {a["applicationId"] for a in everyone["byApplication"]} == {side.app, side.other}
    assert everyone["untagged"] is not None
    assert everyone["total"] == pytest.approx(
        sum(a["amount"] for a in everyone["byApplication"]) + everyone["untagged"])
    if side.name == "aws":
        assert mine["total"] == pytest.approx(side.extra["account"].costs["shop"])


@pytest.mark.parametrize(("start", "end", "code"), [
    (0, -5, "BAD_RANGE"), (-500, -400, "RANGE_TOO_OLD"), (3, 5, "BAD_RANGE")])
def test_cost_ranges_are_checked(side: Side, start: int, end: int, code: str) -> None:
    today = side.now.date()
    variables = {"s": (today + timedelta(days=start)).isoformat(),
                 "e": (today + timedelta(days=end)).isoformat()}
    assert side.run(COSTS, variables, "viewer") == (None, [code])


def test_realtime_of_the_viewers_app_and_not_another(side: Side) -> None:
    data, errors = side.run(REALTIME, {"app": side.app}, "viewer")
    assert errors == []
    keys = [p["key"] for p in data["getRealtimeMetrics"]["service"]]
    assert keys == ["requests", "5xx", "p95", "lambda"]
    assert side.run(REALTIME, {"app": side.other}, "viewer") == (None, ["FORBIDDEN"])


def test_record_custom_metric_through_the_ingest_contract(side: Side) -> None:
    # GIVEN the viewer's credential, which writes its own app only
    ok = {"app": side.app, "name": "ApiRecorded", "v": 2.5, "unit": "Count"}
    # WHEN it records one metric, one for another app, and one with a bad unit
    stored = side.run(RECORD, ok, "viewer")
    other = side.run(RECORD, {**ok, "app": side.other}, "viewer")
    bad = side.run(RECORD, {**ok, "unit": "count"}, "viewer")
    # THEN the first is stored, the others are refused with their codes
    assert stored == ({"recordCustomMetric": {"accepted": 1, "applicationId": side.app,
                                              "metricName": "ApiRecorded"}}, [])
    assert other == (None, ["FORBIDDEN"])
    assert bad[1] == ["WRITE_REFUSED"]


def test_on_aws_the_resolvers_call_only_what_the_api_role_is_granted(aws_side: Side) -> None:
    # GIVEN every metric type, a custom metric, costs and realtime read through the Lambda
    from analytics.api.metrics import KINDS
    from analytics.core.permissions import API_OPERATIONS

    for kind in KINDS:
        extra = {"name": "Orders"} if kind == "CUSTOM" else {}
        aws_side.run(METRICS, metrics_vars(aws_side, type=kind, **extra), "admin")
    aws_side.run(COSTS, {"s": "2026-10-01", "e": "2026-11-01"}, "admin")
    aws_side.run(REALTIME, {"app": "shop"}, "admin")
    # WHEN the AWS calls the runtime made are listed
    called = set(aws_side.extra["rt"].cache.snapshot()["aws_calls"])
    # THEN each is one the API's role is built from (analytics.core.permissions.API)
    assert called, "no AWS call recorded"
    assert called <= API_OPERATIONS, called - API_OPERATIONS
