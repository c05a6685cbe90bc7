"""The ingest contract end to end: API Gateway HTTP API v2 events -> lambda_handler -> moto."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal
from typing import Any

import pytest

from ingest.keys import canonical_dims, dims_hash
from ingest.models import UNITS
from tests.conftest import NOW_MS
from tests.functions.conftest import (
    TABLE,
    Call,
    FakeLambdaContext,
    http_api_event,
    ingest_app,
    metric,
    scan,
)

DAY_MS = 86_400_000


def test_single_metric_is_stored_with_the_documented_layout(call: Call, ddb: Any) -> None:
    ts = NOW_MS - 60_000
    status, body = call(metric(timestamp=ts, value=0.1))
    assert (status, body) == (202, {"accepted": 1})
    [item] = scan(ddb)
    canonical = "Plan=pro"
    assert item["metricId"] == {"S": "jobseek#ApplicationsSent"}
    assert int(item["timestamp"]["N"]) == ts * 10**20 + dims_hash(canonical)
    assert len(item["timestamp"]["N"]) <= 38
    assert item["ts_ms"] == {"N": str(ts)}
    assert item["dims"] == {"S": canonical}
    assert Decimal(item["value"]["N"]) == Decimal("0.1")
    assert item["unit"] == {"S": "Count"}
    assert item["app"] == {"S": "jobseek"}
    assert item["metricName"] == {"S": "ApplicationsSent"}
    assert int(item["receivedAt"]["N"]) == NOW_MS  # the handler's clock, not the caller's
    assert int(item["ttl"]["N"]) == ts // 1000 + 90 * 86_400


def test_batch_is_stored(call: Call, ddb: Any) -> None:
    batch = [metric(metricName=f"M{i}", value=i) for i in range(3)]
    assert call({"metrics": batch}) == (202, {"accepted": 3})
    assert sorted(i["metricName"]["S"] for i in scan(ddb)) == ["M0", "M1", "M2"]


def test_full_batch_of_100_spans_four_batch_write_calls(call: Call, ddb: Any) -> None:
    batch = [metric(value=i, timestamp=NOW_MS - i) for i in range(100)]
    assert call({"metrics": batch}) == (202, {"accepted": 100})
    assert len(scan(ddb)) == 100


def test_optional_fields_default(call: Call, ddb: Any) -> None:
    assert call({"applicationId": "ilikeyacut", "metricName": "Cuts", "value": 1})[0] == 202
    [item] = scan(ddb)
    assert "unit" not in item
    assert item["dims"] == {"S": ""}
    ts = int(item["ts_ms"]["N"])
    assert ts == int(item["receivedAt"]["N"]) == NOW_MS  # no timestamp = now
    assert int(item["timestamp"]["N"]) == ts * 10**20 + dims_hash("")


def test_iso_timestamps_naive_means_utc(call: Call, ddb: Any) -> None:
    when = time.gmtime(NOW_MS // 1000 - 3600)
    naive = time.strftime("%Y-%m-%dT%H:%M:%S", when)
    assert call({"metrics": [metric(timestamp=naive), metric(timestamp=naive + "Z", value=9)]}) == (
        202,
        {"accepted": 2},
    )
    [item] = scan(ddb)  # the same instant, the same dimensions: one datapoint
    assert int(item["ts_ms"]["N"]) == (NOW_MS // 1000 - 3600) * 1000
    assert item["value"]["N"] == "9.0"  # the last one wins


def test_retention_days_from_env(call: Call, ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_DAYS", "7")
    ingest_app.default_resolver.cache_clear()
    ts = NOW_MS - 1000
    assert call(metric(timestamp=ts))[0] == 202
    assert int(scan(ddb)[0]["ttl"]["N"]) == ts // 1000 + 7 * 86_400


# -- every rule, one at a time: 422, naming the item's index and the field ----------------------
RULE_VIOLATIONS: list[tuple[str, dict[str, Any], str | None]] = [
    ("unknown app", {"applicationId": "nope"}, "applicationId"),
    ("app not a string", {"applicationId": 7}, "applicationId"),
    ("missing app", {"applicationId": None}, "applicationId"),
    ("name with space", {"metricName": "Applications Sent"}, "metricName"),
    ("empty name", {"metricName": ""}, "metricName"),
    ("name too long", {"metricName": "M" * 256}, "metricName"),
    ("missing name", {"metricName": None}, "metricName"),
    ("value bool", {"value": True}, "value"),
    ("value string", {"value": "3"}, "value"),
    ("value null", {"value": None}, "value"),
    ("value too big", {"value": 2.0**361}, "value"),
    ("int too big", {"value": 2**360 + 1}, "value"),
    ("value too small", {"value": -(2.0**-261)}, "value"),
    ("value list", {"value": [1]}, "value"),
    ("unit lower case", {"unit": "count"}, "unit"),
    ("unit unknown", {"unit": "Furlongs"}, "unit"),
    ("unit not a string", {"unit": 1}, "unit"),
    ("31 dimensions", {"dimensions": [{"name": f"D{i}", "value": "x"} for i in range(31)]},
     "dimensions"),
    ("duplicate dimension",
     {"dimensions": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}, "dimensions"),
    ("dimension named like the metric",
     {"dimensions": [{"name": "ApplicationsSent", "value": "x"}]}, "dimensions"),
    ("dimensions not a list", {"dimensions": {"Plan": "pro"}}, "dimensions"),
    ("empty dimension name", {"dimensions": [{"name": "", "value": "x"}]}, "dimensions[0].name"),
    ("blank dimension value", {"dimensions": [{"name": "A", "value": "  "}]},
     "dimensions[0].value"),
    ("dimension value too long", {"dimensions": [{"name": "A", "value": "v" * 256}]},
     "dimensions[0].value"),
    ("non-ASCII dimension", {"dimensions": [{"name": "A", "value": "caf\u00e9"}]},
     "dimensions[0].value"),
    ("control character", {"dimensions": [{"name": "A\n", "value": "x"}]}, "dimensions[0].name"),
    ("leading colon", {"dimensions": [{"name": ":A", "value": "x"}]}, "dimensions[0].name"),
    ("reserved EMF key", {"dimensions": [{"name": "_aws", "value": "x"}]}, "dimensions[0].name"),
    ("unknown dimension field", {"dimensions": [{"name": "A", "value": "x", "x": 1}]},
     "dimensions[0].x"),
    ("dimension not an object", {"dimensions": ["Plan=pro"]}, "dimensions[0]"),
    ("15 days old", {"timestamp": NOW_MS - 15 * DAY_MS}, "timestamp"),
    ("an hour ahead", {"timestamp": NOW_MS + 60 * 60_000}, "timestamp"),
    ("epoch seconds", {"timestamp": NOW_MS // 1000}, "timestamp"),
    ("float timestamp", {"timestamp": NOW_MS + 0.5}, "timestamp"),
    ("bool timestamp", {"timestamp": True}, "timestamp"),
    ("not a date", {"timestamp": "yesterday"}, "timestamp"),
    ("unknown field", {"tags": ["a"]}, "tags"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [(c, f) for _, c, f in RULE_VIOLATIONS],
    ids=[n for n, _, _ in RULE_VIOLATIONS],
)
def test_each_rule_violation_is_422_naming_index_and_field(
    call: Call, ddb: Any, change: dict[str, Any], field: str
) -> None:
    bad = {k: v for k, v in metric(**change).items() if v is not None}
    status, body = call({"metrics": [metric(), bad, metric(value=5)]})
    assert status == 422
    assert {"index": 1, "field": field} in [
        {"index": e["index"], "field": e["field"]} for e in body["errors"]
    ]
    assert all(e["index"] == 1 and e["message"] for e in body["errors"])
    assert scan(ddb) == []  # a batch with one invalid item writes nothing


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_values_are_422(call: Call, ddb: Any, literal: str) -> None:
    raw = json.dumps(metric(value=0)).replace('"value": 0', f'"value": {literal}')
    status, body = call(raw, raw=True)
    assert status == 422
    assert body["errors"][0] | {"message": ""} == {"index": 0, "field": "value", "message": ""}


def test_every_error_of_every_item_is_listed(call: Call, ddb: Any) -> None:
    batch = [metric(metricName="bad name", unit="x"), metric(), "not an object"]
    status, body = call({"metrics": batch})
    assert status == 422
    located = [(e["index"], e["field"]) for e in body["errors"]]
    assert located == [(0, "metricName"), (0, "unit"), (2, None)]
    assert scan(ddb) == []


@pytest.mark.parametrize(
    "value",
    [0, -0.0, 2**360, 2.0**360, -(2.0**360), 2.0**-260, -(2.0**-260), 1e-70, 123456789.125],
)
def test_value_range_edges_are_accepted(call: Call, ddb: Any, value: float) -> None:
    assert call(metric(value=value))[0] == 202
    assert Decimal(scan(ddb)[0]["value"]["N"]) == Decimal(repr(float(value) + 0.0))


def test_every_cloudwatch_unit_and_limits_are_accepted(call: Call, ddb: Any) -> None:
    now_ms = NOW_MS  # the handler's clock: the edges below are a minute inside the limits
    dims = [{"name": f"D{i:02d}" + "n" * 252, "value": "v" * 255} for i in range(30)]
    batch = [
        metric(unit=u, metricName="M" * 255, timestamp=now_ms - i)
        for i, u in enumerate(sorted(UNITS))
    ]
    batch.append(metric(dimensions=dims, timestamp=now_ms + 4 * 60_000))
    batch.append(metric(timestamp=now_ms - 14 * DAY_MS + 60_000))
    assert call({"metrics": batch}) == (202, {"accepted": len(UNITS) + 2})
    assert len(scan(ddb)) == len(UNITS) + 2


# -- shape, size, auth ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"applicationId": "jobseek", ', None),
        ("[1, 2]", None),
        ('"metric"', None),
        ("", None),
        ('{"metrics": []}', "metrics"),
        ('{"metrics": {"applicationId": "jobseek"}}', "metrics"),
        ('{"metrics": [], "extra": 1}', "extra"),
        ("null", None),
    ],
    ids=[
        "truncated",
        "array",
        "string",
        "empty",
        "empty batch",
        "batch not a list",
        "envelope field",
        "null",
    ],
)
def test_wrong_shape_is_400(call: Call, ddb: Any, raw: str, field: str | None) -> None:
    status, body = call(raw, raw=True)
    assert status == 400
    [error] = body["errors"]
    assert error["index"] is None and error["field"] == field and error["message"]
    assert scan(ddb) == []


def test_more_than_100_items_is_400(call: Call, ddb: Any) -> None:
    status, body = call({"metrics": [metric(value=i) for i in range(101)]})
    assert status == 400
    assert body["errors"][0]["field"] == "metrics"
    assert "101" in body["errors"][0]["message"]
    assert scan(ddb) == []


def test_base64_bodies_are_decoded_and_bad_base64_is_400(call: Call, ddb: Any) -> None:
    # UTF-16 bodies are now a 400 (the contract says UTF-8): encode UTF-8 as a binary body
    good = dict(http_api_event("POST", "/metrics", body="{}"), isBase64Encoded=True,
                body=base64.b64encode(json.dumps(metric()).encode()).decode())
    assert good["isBase64Encoded"]
    assert ingest_app.lambda_handler(good, FakeLambdaContext())["statusCode"] == 202
    bad = dict(good, body="%%%not base64")
    answer = ingest_app.lambda_handler(bad, FakeLambdaContext())
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["errors"][0]["message"] == "body is not valid base64"


def test_body_over_256_kb_is_413_and_exactly_256_kb_is_not(call: Call, ddb: Any) -> None:
    text = json.dumps(metric())
    exact = text[:-1] + " " * (262_144 - len(text.encode())) + "}"
    assert len(exact.encode()) == 262_144
    assert call(exact, raw=True)[0] == 202
    status, body = call(exact[:-1] + " }", raw=True)
    assert status == 413
    assert body["errors"][0]["index"] is None and "262145" in body["errors"][0]["message"]


def test_missing_iam_context_is_401(call: Call, ddb: Any) -> None:
    status, body = call(metric(), iam=False)
    assert status == 401
    assert body["errors"][0]["message"] == "missing or invalid credentials"
    assert scan(ddb) == []


def test_iam_check_can_be_turned_off(call: Call, ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_IAM_AUTH", "false")
    ingest_app.default_resolver.cache_clear()
    assert call(metric(), iam=False)[0] == 202


def test_health(call: Call) -> None:
    assert call(method="GET", path="/health", iam=False) == (200, {"status": "ok"})


def test_unknown_route_and_wrong_method_answer_json(call: Call) -> None:
    status, body = call(method="GET", path="/metrics")
    assert status == 405 and body["errors"][0]["message"].endswith("use POST")
    status, body = call(method="POST", path="/nowhere")
    assert status == 404 and body["errors"]


# -- idempotency ---------------------------------------------------------------------------------
def test_same_metric_twice_is_one_item(call: Call, ddb: Any) -> None:
    one = metric(timestamp=NOW_MS - 5000)
    assert call(one)[0] == 202
    assert call(dict(one, value=4))[0] == 202
    [item] = scan(ddb)
    assert item["value"]["N"] == "4.0"


def test_same_timestamp_other_dimensions_is_another_item(call: Call, ddb: Any) -> None:
    ts = NOW_MS - 5000
    assert call(metric(timestamp=ts))[0] == 202
    assert call(metric(timestamp=ts, dimensions=[{"name": "Plan", "value": "free"}]))[0] == 202
    assert call(metric(timestamp=ts, dimensions=[]))[0] == 202
    items = scan(ddb)
    assert sorted(i["dims"]["S"] for i in items) == ["", "Plan=free", "Plan=pro"]
    assert {i["ts_ms"]["N"] for i in items} == {str(ts)}


def test_dimension_order_does_not_matter_and_duplicates_in_a_batch_collapse(
    call: Call, ddb: Any
) -> None:
    ts = NOW_MS - 5000
    ab = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    batch = [metric(timestamp=ts, dimensions=ab), metric(timestamp=ts, dimensions=ab[::-1])]
    assert call({"metrics": batch}) == (202, {"accepted": 2})  # one BatchWriteItem, no dup error
    [item] = scan(ddb)
    assert item["dims"]["S"] == canonical_dims([("A", "1"), ("B", "2")]) == "A=1,B=2"


def test_separator_characters_do_not_collide(call: Call, ddb: Any) -> None:
    ts = NOW_MS - 5000
    joined = [{"name": "a", "value": "b,c=d"}]
    split = [{"name": "a", "value": "b"}, {"name": "c", "value": "d"}]
    assert (
        call({"metrics": [metric(timestamp=ts, dimensions=d) for d in (joined, split)]})[0] == 202
    )
    assert len(scan(ddb)) == 2


def test_table_name_comes_from_env(lambda_env: None) -> None:
    assert ingest_app.default_resolver() is ingest_app.default_resolver()
    assert TABLE == "central-analytics-metrics"


def test_missing_table_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_TABLE", raising=False)
    ingest_app.default_resolver.cache_clear()
    with pytest.raises(RuntimeError, match="METRICS_TABLE"):
        ingest_app.default_resolver()
    ingest_app.default_resolver.cache_clear()
