"""Live updates end to end on the local twin, and the group commit under them: a POSTed metric
reaches a subscriber after its commit; concurrent POSTs share transactions and each is
acknowledged only once committed; subscriptions are authorized and filtered."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from analytics.local.group_commit import GroupCommitSink
from tests.api.conftest import Twin
from tests.custom.conftest import http_post, unique_name

SUBSCRIBE = """subscription($app: String!, $types: [MetricType]!, $names: [String!]) {
  metricUpdates(applicationId: $app, metricTypes: $types, metricNames: $names) {
    applicationId metricType metricName unit committedAt
    points { timestamp value dimensions { name value } }
  }
}"""


def ws_url(twin: Twin) -> str:
    return twin.server.graphql_url.replace("http://", "ws://")


def open_subscription(twin: Twin, token: str, variables: dict[str, Any]) -> Any:
    ws = connect(ws_url(twin), subprotocols=["graphql-transport-ws"], open_timeout=5)
    ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization":
                                                                f"Bearer {token}"}}))
    assert json.loads(ws.recv(timeout=5)) == {"type": "connection_ack"}
    ws.send(json.dumps({"type": "subscribe", "id": "1",
                        "payload": {"query": SUBSCRIBE, "variables": variables}}))
    return ws


def wait_subscribers(twin: Twin, n: int) -> None:
    for _ in range(500):
        if twin.server.ingest.hub.subscribers >= n:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the subscription never registered")


def test_a_posted_metric_reaches_the_subscriber_after_its_commit(twin: Twin) -> None:
    # GIVEN a subscriber to jobseek's custom metrics, with jobseek's own token
    name = unique_name("Live")
    before = twin.server.ingest.hub.subscribers
    ws = open_subscription(twin, twin.tokens["jobseek"], {"app": "jobseek",
                                                          "types": ["CUSTOM"]})
    try:
        wait_subscribers(twin, before + 1)
        # WHEN jobseek POSTs a metric with a dimension
        status, _ = http_post(twin.server.url, {
            "applicationId": "jobseek", "metricName": name, "value": 7, "unit": "Count",
            "dimensions": [{"name": "Plan", "value": "pro"}]}, twin.tokens["jobseek"])
        assert status == 202
        # THEN the subscriber gets the stored point, committed before the 202
        message = json.loads(ws.recv(timeout=5))
    finally:
        ws.close()
    assert message["type"] == "next" and message["id"] == "1"
    update = message["payload"]["data"]["metricUpdates"]
    assert (update["applicationId"], update["metricType"], update["metricName"],
            update["unit"]) == ("jobseek", "CUSTOM", name, "Count")
    [point] = update["points"]
    assert point["value"] == 7.0 and point["dimensions"] == [{"name": "Plan", "value": "pro"}]
    stored = twin.rt.local.store.cursor().execute(
        "SELECT ts_ms FROM custom_metrics WHERE metric_name = ?", [name]).fetchone()
    from analytics.api.inputs import aws_datetime
    assert point["timestamp"] == aws_datetime(stored[0] / 1000)


def test_subscriptions_see_only_their_app_and_names(twin: Twin) -> None:
    # GIVEN one subscriber to jobseek's metric A only, as the operator
    a, b = unique_name("A"), unique_name("B")
    before = twin.server.ingest.hub.subscribers
    ws = open_subscription(twin, twin.operator, {"app": "jobseek", "types": ["CUSTOM"],
                                                 "names": [a]})
    try:
        wait_subscribers(twin, before + 1)
        # WHEN B, another app's A, then A are posted
        for app, name in (("jobseek", b), ("ilikeyacut", a), ("jobseek", a)):
            assert http_post(twin.server.url, {"applicationId": app, "metricName": name,
                                               "value": 1}, twin.operator)[0] == 202
        first = json.loads(ws.recv(timeout=5))
    finally:
        ws.close()
    # THEN the first (and only) update is jobseek's A
    update = first["payload"]["data"]["metricUpdates"]
    assert (update["applicationId"], update["metricName"]) == ("jobseek", a)


@pytest.mark.parametrize(("token_of", "variables", "expected"), [
    ("jobseek", {"app": "ilikeyacut", "types": ["CUSTOM"]}, "FORBIDDEN"),
    ("jobseek", {"app": "jobseek", "types": ["LATENCY"]}, "BAD_ARGUMENT"),
    ("jobseek", {"app": "jobseek", "types": ["CUSTOM"], "names": list("abcdef")},
     "BAD_ARGUMENT"),
])
def test_a_refused_subscription_is_an_error_message(twin: Twin, token_of: str,
                                                    variables: dict[str, Any],
                                                    expected: str) -> None:
    ws = open_subscription(twin, twin.tokens[token_of], variables)
    try:
        message = json.loads(ws.recv(timeout=5))
    finally:
        ws.close()
    assert message["type"] == "error" and message["id"] == "1"
    assert [e["extensions"]["code"] for e in message["payload"]] == [expected]


def test_a_wrong_token_closes_the_socket_with_4403(twin: Twin) -> None:
    from websockets.exceptions import ConnectionClosed

    ws = connect(ws_url(twin), subprotocols=["graphql-transport-ws"], open_timeout=5)
    ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer no"}}))
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_queries_also_run_over_the_socket(twin: Twin) -> None:
    ws = open_subscription(twin, twin.tokens["jobseek"], {"app": "jobseek",
                                                          "types": ["CUSTOM"]})
    try:
        ws.send(json.dumps({"type": "subscribe", "id": "q", "payload": {
            "query": '{ getRealtimeMetrics(applicationId: "jobseek") { applicationId } }'}}))
        answer = json.loads(ws.recv(timeout=10))
        done = json.loads(ws.recv(timeout=5))
    finally:
        ws.close()
    assert answer == {"type": "next", "id": "q",
                      "payload": {"data": {"getRealtimeMetrics": {"applicationId": "jobseek"}}}}
    assert done == {"type": "complete", "id": "q"}


def test_concurrent_posts_share_commits_and_are_acknowledged_after_them(twin: Twin) -> None:
    # GIVEN the twin's group commit and 40 clients each POSTing one metric at once
    sink = twin.server.ingest.sink
    assert isinstance(sink, GroupCommitSink)
    name = unique_name("Group")
    commits, requests = sink.commits, sink.requests
    start = threading.Barrier(40)

    def post(i: int) -> int:
        with httpx.Client(trust_env=False, timeout=10) as http:
            start.wait()
            response = http.post(twin.server.url, json={"applicationId": "jobseek",
                                                        "metricName": name, "value": i,
                                                        "timestamp": twin.now_ms - i},
                                 headers={"Authorization": f"Bearer {twin.operator}"})
        return response.status_code

    # WHEN they are sent
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(post, range(40)))
    # THEN every one is acknowledged, every point is stored, in fewer transactions than requests
    assert statuses == [202] * 40
    stored = twin.rt.local.store.cursor().execute(
        "SELECT count(*) FROM custom_metrics WHERE metric_name = ?", [name]).fetchone()[0]
    assert stored == 40
    assert sink.requests - requests == 40
    assert sink.commits - commits < 40


def test_a_failed_group_commit_answers_503_to_every_request_in_it(twin: Twin,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    sink = twin.server.ingest.sink
    assert isinstance(sink, GroupCommitSink)

    def broken(*_a: object, **_k: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(sink.sink.store, "transaction", broken)
    name = unique_name("Fail")
    status, body = http_post(twin.server.url, {"metrics": [
        {"applicationId": "jobseek", "metricName": name, "value": i} for i in range(3)]},
        twin.operator)
    assert status == 503 and body["notWritten"] == [0, 1, 2]
    monkeypatch.undo()
    assert http_post(twin.server.url, {"applicationId": "jobseek", "metricName": name,
                                       "value": 1}, twin.operator)[0] == 202


def test_the_hub_drops_the_oldest_for_a_subscriber_that_stopped_reading() -> None:
    from analytics.api.updates import QUEUE_SIZE, Interest, UpdateHub

    async def scenario() -> tuple[int, float, int]:
        hub = UpdateHub()
        stream = hub.stream(Interest("jobseek", frozenset({"CUSTOM"})))
        updates = [{"applicationId": "jobseek", "metricType": "CUSTOM", "metricName": "M",
                    "value": i} for i in range(QUEUE_SIZE + 5)]
        hub.publish(updates)
        await asyncio.sleep(0.05)
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        return hub.subscribers, first["value"], hub.published

    subscribers, first, published = asyncio.run(scenario())
    assert (subscribers, first, published) == (0, 5, 1005)
