"""The stream processor: DynamoDB stream records of the metrics table become the same
``MetricUpdate`` the local twin publishes, one per app and metric, and a failed publish
reports the batch from its first record so Lambda retries it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import parse, validate
from metric_stream.publisher import PUBLISH, dimensions_of, publish_all, updates_from_records

from analytics.api.schema import schema
from analytics.api.updates import updates_from
from ingest.keys import build_item, canonical_dims, parse_dims
from ingest.sinks import to_attribute_values

TABLE = "central-analytics-metrics"
NOW_MS = 1_764_496_800_000  # 2025-11-30T10:00:00Z


def items() -> list[Any]:
    def item(app: str, name: str, value: float, ts: int, dims: dict[str, str]) -> Any:
        return build_item(app=app, metric_name=name, value=value, unit="Count",
                          dimensions=sorted(dims.items()), ts_ms=ts, received_at_ms=ts + 5,
                          retention_days=90)

    return [item("jobseek", "Signups", 2, NOW_MS, {"Plan": "pro", "a,b": "c=d"}),
            item("jobseek", "Signups", 3, NOW_MS - 1000, {}),
            item("ilikeyacut", "Bookings", 1, NOW_MS, {})]


@pytest.fixture
def stream_records() -> list[dict[str, Any]]:
    """The stream records DynamoDB emits for the items the ingest sink writes (their
    NewImage is the item as written), plus a registry item, as Lambda delivers them."""
    images = [to_attribute_values(i) for i in items()]
    images.append({"metricId": {"S": "_series#jobseek"}, "timestamp": {"N": "0"}})
    return [{"eventName": "INSERT", "eventSource": "aws:dynamodb", "dynamodb": {
        "Keys": {"metricId": image["metricId"], "timestamp": image["timestamp"]},
        "NewImage": image, "SequenceNumber": str(100 + n), "StreamViewType":
        "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": NOW_MS / 1000 + 0.25}}
        for n, image in enumerate(images)]


def test_stream_records_become_the_twins_updates(stream_records: list[dict[str, Any]]) -> None:
    # GIVEN the stream records of three datapoints and one registry item
    # WHEN the processor groups them
    published = [u for u, _ in updates_from_records(stream_records)]
    # THEN they are the updates the local twin publishes for the same commit, field for field
    local = updates_from(items(), committed_ms=NOW_MS + 250)
    assert published == local
    assert [u["metricName"] for u in published] == ["Bookings", "Signups"]
    signups = published[1]["points"]
    assert [p["value"] for p in signups] == [3.0, 2.0]  # time order
    assert signups[1]["dimensions"] == [{"name": "Plan", "value": "pro"},
                                        {"name": "a,b", "value": "c=d"}]


def test_the_publish_mutation_is_valid_against_the_schema() -> None:
    assert validate(schema(), parse(PUBLISH)) == []


def test_each_group_is_one_mutation_and_a_failure_retries_from_its_first_record(
        stream_records: list[dict[str, Any]]) -> None:
    # GIVEN an AppSync that refuses the Signups update
    sent: list[dict[str, Any]] = []

    def post(body: bytes) -> tuple[int, dict[str, Any]]:
        payload = json.loads(body)
        sent.append(payload["variables"]["input"])
        if payload["variables"]["input"]["metricName"] == "Signups":
            return 200, {"errors": [{"message": "throttled"}]}
        return 200, {"data": {"publishMetricUpdate": {}}}

    # WHEN the batch is processed
    answer = publish_all(stream_records, post)
    # THEN both groups were tried and the batch is retried from the first Signups record
    assert [u["metricName"] for u in sent] == ["Bookings", "Signups"]
    seq = {json.loads(json.dumps(r))["dynamodb"]["NewImage"]["metricName"]["S"]:
           r["dynamodb"]["SequenceNumber"] for r in reversed(stream_records)
           if "metricName" in r["dynamodb"].get("NewImage", {})}
    assert answer == {"batchItemFailures": [{"itemIdentifier": seq["Signups"]}]}
    assert publish_all(stream_records, lambda _b: (200, {"data": {}})) == {
        "batchItemFailures": []}


@pytest.mark.parametrize("pairs", [
    [], [("Plan", "pro")], [("Plan", "pro"), ("Region", "eu-west-1")],
    [("a", "b,c=d"), ("k\\", "=v,")], [("x", "")]])
def test_the_stream_lambda_reads_dimensions_as_the_writer_wrote_them(
        pairs: list[tuple[str, str]]) -> None:
    # GIVEN dimensions stored in the writer's canonical form, separators inside names and values
    canonical = canonical_dims(pairs)
    # WHEN the stream Lambda (which ships alone, without the ingest package) reads them back
    got = dimensions_of(canonical)
    # THEN it finds the pairs the ingest path's own parser finds
    assert [(d["name"], d["value"]) for d in got] == parse_dims(canonical) == sorted(pairs)
