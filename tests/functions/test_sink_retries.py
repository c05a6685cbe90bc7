"""DynamoDBSink under UnprocessedItems and errors: retries with growing backoff, and a 503 that
names exactly the request indexes that were not written."""

from __future__ import annotations

import itertools
import json
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from ingest.keys import build_item
from ingest.sinks import BOTO_CONFIG, DynamoDBSink, full_jitter, to_attribute_values
from tests.conftest import NOW_MS, frozen_clock
from tests.functions.conftest import TABLE, http_api_event, ingest_app, metric, scan


class FlakyClient:
    """Wraps a (moto) client; items whose metricName is in ``stuck`` are never processed, and the
    first ``flaky_calls`` calls process only the first half of their requests."""

    def __init__(
        self, real: Any, *, stuck: frozenset[str] = frozenset(), flaky_calls: int = 0
    ) -> None:
        self.real, self.stuck, self.flaky_calls = real, stuck, flaky_calls
        self.calls: list[int] = []  # requests per call

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        [(table, requests)] = RequestItems.items()
        assert len(requests) <= 25
        items = [r["PutRequest"]["Item"] for r in requests]
        keys = [(i["metricId"]["S"], i["timestamp"]["N"]) for i in items]
        assert len(set(keys)) == len(keys), "duplicate keys in one BatchWriteItem"
        self.calls.append(len(requests))
        left = [r for r in requests if r["PutRequest"]["Item"]["metricName"]["S"] in self.stuck]
        todo = [r for r in requests if r not in left]
        if len(self.calls) <= self.flaky_calls:
            half = len(todo) // 2
            todo, left = todo[:half], left + todo[half:]
        if todo:
            self.real.batch_write_item(RequestItems={table: todo})
        return {"UnprocessedItems": {table: left} if left else {}}


def resolver_with(sink: Any) -> Any:
    return ingest_app.build_resolver(sink, ["jobseek"], emit_emf=False, clock=frozen_clock())


def post(resolver: Any, body: Any) -> tuple[int, dict[str, Any]]:
    answer = resolver.resolve(http_api_event("POST", "/metrics", body=json.dumps(body)), None)
    return answer["statusCode"], json.loads(answer["body"])


def test_partial_unprocessed_then_success_is_202_and_everything_is_written(ddb: Any) -> None:
    sleeps: list[float] = []
    client = FlakyClient(ddb, flaky_calls=3)
    sink = DynamoDBSink(TABLE, client, sleep=sleeps.append, jitter=lambda cap: cap)
    batch = [metric(value=i, timestamp=NOW_MS - i) for i in range(40)]
    assert post(resolver_with(sink), {"metrics": batch}) == (202, {"accepted": 40})
    assert len(scan(ddb)) == 40
    # chunk 1 (25): 25 -> 13 left -> 7 left -> 0; chunk 2 (15): all at once
    assert client.calls == [25, 13, 7, 4, 15]
    assert sleeps == [0.05, 0.1, 0.2]


def test_permanently_unprocessed_items_are_503_with_exactly_their_indexes(ddb: Any) -> None:
    sleeps: list[float] = []
    client = FlakyClient(ddb, stuck=frozenset({"Stuck"}))
    sink = DynamoDBSink(TABLE, client, sleep=sleeps.append, jitter=lambda cap: cap)
    batch = [metric(value=i, timestamp=NOW_MS - i) for i in range(60)]
    for i in (3, 30, 59):
        batch[i]["metricName"] = "Stuck"
    status, body = post(resolver_with(sink), {"metrics": batch})
    assert status == 503
    assert body["notWritten"] == [3, 30, 59]
    assert [e["index"] for e in body["errors"]] == [3, 30, 59]
    assert len(scan(ddb)) == 57
    # three chunks, each with one stuck item: 6 attempts and 5 growing sleeps per chunk
    assert client.calls == [25, 1, 1, 1, 1, 1] * 2 + [10, 1, 1, 1, 1, 1]
    assert sleeps == [0.05, 0.1, 0.2, 0.4, 0.8] * 3


def test_backoff_caps_grow_exponentially_up_to_two_seconds(ddb: Any) -> None:
    sleeps: list[float] = []
    sink = DynamoDBSink(
        TABLE,
        FlakyClient(ddb, stuck=frozenset({"Stuck"})),
        max_attempts=9,
        sleep=sleeps.append,
        jitter=lambda cap: cap,
    )
    item = build_item(
        app="jobseek",
        metric_name="Stuck",
        value=1,
        unit=None,
        dimensions=[],
        ts_ms=NOW_MS,
        received_at_ms=NOW_MS,
        retention_days=90,
    )
    assert sink.write([item]) == [0]
    assert sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert all(a <= b for a, b in itertools.pairwise(sleeps))


def test_full_jitter_stays_within_the_cap() -> None:
    draws = [full_jitter(0.4) for _ in range(1000)]
    assert all(0.0 <= d <= 0.4 for d in draws)
    assert max(draws) - min(draws) > 0.2  # actually random


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1", config=BOTO_CONFIG)
    return client, Stubber(client)


def _items(n: int) -> list[Any]:
    return [
        build_item(
            app="jobseek",
            metric_name="M",
            value=i,
            unit="Count",
            dimensions=[],
            ts_ms=NOW_MS - i,
            received_at_ms=NOW_MS,
            retention_days=90,
        )
        for i in range(n)
    ]


def _puts(items: list[Any]) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": to_attribute_values(i)}} for i in items]


def test_stubber_resends_exactly_the_unprocessed_items() -> None:
    client, stub = _stubbed()
    items = _items(5)
    stub.add_response(
        "batch_write_item",
        {"UnprocessedItems": {TABLE: _puts([items[1], items[4]])}},
        {"RequestItems": {TABLE: _puts(items)}},
    )
    stub.add_response(
        "batch_write_item",
        {"UnprocessedItems": {}},
        {"RequestItems": {TABLE: _puts([items[1], items[4]])}},
    )
    sleeps: list[float] = []
    with stub:
        assert DynamoDBSink(TABLE, client, sleep=sleeps.append).write(items) == []
        stub.assert_no_pending_responses()
    assert len(sleeps) == 1 and 0.0 <= sleeps[0] <= 0.05


def test_client_error_fails_that_chunk_and_every_later_one() -> None:
    client, stub = _stubbed()
    items = _items(60)
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": ANY})
    stub.add_client_error(
        "batch_write_item",
        service_error_code="ProvisionedThroughputExceededException",
        http_status_code=400,
    )
    with stub:
        failed = DynamoDBSink(TABLE, client, sleep=lambda s: None).write(items)
        stub.assert_no_pending_responses()  # the third chunk was never attempted
    assert failed == list(range(25, 60))


def test_client_error_through_the_resolver_is_503_naming_the_indexes() -> None:
    client, stub = _stubbed()
    stub.add_client_error(
        "batch_write_item", service_error_code="ThrottlingException", http_status_code=400
    )
    batch = [metric(value=i, timestamp=NOW_MS - i) for i in range(3)]
    with stub:
        status, body = post(resolver_with(DynamoDBSink(TABLE, client)), {"metrics": batch})
    assert status == 503
    assert body["notWritten"] == [0, 1, 2]


def test_a_duplicate_that_is_not_written_reports_every_index_it_stands_for(ddb: Any) -> None:
    client = FlakyClient(ddb, stuck=frozenset({"Stuck"}))
    sink = DynamoDBSink(TABLE, client, sleep=lambda s: None)
    stuck = metric(metricName="Stuck", timestamp=NOW_MS - 1)
    status, body = post(resolver_with(sink), {"metrics": [stuck, metric(), dict(stuck, value=7)]})
    assert status == 503
    assert body["notWritten"] == [0, 2]
    assert client.calls[0] == 2  # the duplicate went out once


def test_a_sink_that_raises_is_503_for_everything() -> None:
    class Broken:
        def write(self, items: list[Any]) -> list[int]:
            raise RuntimeError("disk full")

    status, body = post(resolver_with(Broken()), {"metrics": [metric(), metric(value=2)]})
    assert status == 503
    assert body["notWritten"] == [0, 1]


def test_client_is_configured_with_standard_retries_and_timeouts() -> None:
    config = DynamoDBSink(TABLE).client.meta.config
    # cut to fit the Lambda timeout (ingest/budget.py): 3 attempts of at most 1 s + 2 s
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (1, 2)
