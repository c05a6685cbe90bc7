"""The aws backend's stores on a real DynamoDB API (moto): the series registry the ingest
Lambda counts with, and the deny-list of signed-out sessions every dashboard task reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from analytics.auth.revocation import DynamoDBRevokedSessions
from ingest.guard import Caps
from ingest.registry import DynamoDBRegistry

TABLE = "central-analytics-metrics"
DAY = 86_400_000


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                       {"AttributeName": "timestamp", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "metricId", "AttributeType": "S"},
                                  {"AttributeName": "timestamp", "AttributeType": "N"}])
        yield client


CAPS = {"jobseek": Caps(max_names=3, max_dimension_sets=2)}


def _admit(reg: DynamoDBRegistry, metrics: dict[str, set[str]], now_ms: int = 10 * DAY):
    return reg.admit({"jobseek": {m: frozenset(d) for m, d in metrics.items()}}, caps=CAPS,
                     now_ms=now_ms, window_ms=90 * DAY)


def test_the_registry_counts_names_and_dimension_sets_across_lambdas(ddb: Any) -> None:
    # GIVEN two Lambdas (two registries) on the same table
    one, two = DynamoDBRegistry(TABLE, ddb), DynamoDBRegistry(TABLE, ddb)
    # WHEN they admit series in turn
    assert _admit(one, {"A": {""}, "B": {"Plan=pro"}}) is None
    assert _admit(two, {"B": {"Plan=free"}}) is None
    over_dims = _admit(one, {"B": {"Plan=team"}})
    assert _admit(two, {"C": {""}}) is None
    over_names = _admit(one, {"D": {""}})
    # THEN each counted what the other registered
    assert over_dims is not None and over_dims.cap == "max_dimension_sets"
    assert over_dims.metric == "B" and over_dims.would_have == 3
    assert over_names is not None and over_names.cap == "max_metric_names"
    # ... known series still pass, and series older than the window stop counting
    assert _admit(two, {"A": {""}, "B": {"Plan=pro"}}) is None
    assert _admit(two, {"D": {""}}, now_ms=200 * DAY) is None


def test_a_stale_read_cannot_slip_past_the_cap(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a Lambda that read the registry before another one filled it to the cap
    slow, fast = DynamoDBRegistry(TABLE, ddb, sleep=lambda s: None), DynamoDBRegistry(TABLE, ddb)
    real_read = slow._read
    reads: list[int] = []

    def stale_first(pks: list[str]) -> dict[str, dict[str, Any]]:
        reads.append(1)
        if len(reads) == 1:
            got = real_read(pks)
            assert _admit(fast, {"A": {""}, "B": {""}, "C": {""}}) is None  # lands in between
            return got
        return real_read(pks)

    monkeypatch.setattr(slow, "_read", stale_first)
    # WHEN the slow one writes a fourth name from its stale read
    over = _admit(slow, {"D": {""}})
    # THEN its guarded write fails, it reads again, and refuses: the cap held
    assert len(reads) == 2
    assert over is not None and over.cap == "max_metric_names" and over.would_have == 4


def test_revoked_sessions_are_shared_items_with_a_ttl(ddb: Any) -> None:
    now = [1_000.0]
    task_a = DynamoDBRevokedSessions(client=ddb, table=TABLE, clock=lambda: now[0])
    task_b = DynamoDBRevokedSessions(client=ddb, table=TABLE, clock=lambda: now[0])
    task_a.revoke("sid-1", until=2_000.0)
    assert task_b.is_revoked("sid-1") and not task_b.is_revoked("sid-2")
    item = ddb.scan(TableName=TABLE)["Items"][0]
    assert item["metricId"]["S"].startswith("_session#") and "sid-1" not in str(item)
    assert int(item["ttl"]["N"]) >= 2_000  # DynamoDB removes it after the cookie expired
    now[0] = 2_001.0
    assert not task_b.is_revoked("sid-1")  # expired, even before DynamoDB deletes it
