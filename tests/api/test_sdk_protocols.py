"""The SDK's subscription loop against scripted WebSocket servers: a dropped connection is
re-opened and the subscription re-sent (sync and async); AppSync's real-time dialect (URL
auth header, start with authorization, start_ack, data, ka) is spoken as documented."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from central_analytics_client import Client
from central_analytics_client.subscriptions import AppSyncDialect
from websockets.sync.server import ServerConnection, serve

UPDATE = {"applicationId": "jobseek", "metricType": "CUSTOM", "metricName": "M", "unit": None,
          "committedAt": "2026-11-30T10:00:00.000Z",
          "points": [{"timestamp": "2026-11-30T09:59:59.000Z", "value": 1.0, "dimensions": []}]}


def scripted(handler: Callable[[ServerConnection, int], None]) -> Iterator[str]:
    connections = [0]

    def handle(ws: ServerConnection) -> None:
        connections[0] += 1
        handler(ws, connections[0])

    with serve(handle, "127.0.0.1", 0, subprotocols=["graphql-transport-ws", "graphql-ws"]) \
            as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}/graphql"
        server.shutdown()


def transport_ws(ws: ServerConnection, n: int) -> None:
    """First connection: ack, then drop. Second: ack, answer the subscription, complete."""
    init = json.loads(ws.recv())
    assert init == {"type": "connection_init", "payload": {"Authorization": "Bearer t"}}
    ws.send(json.dumps({"type": "connection_ack"}))
    sub = json.loads(ws.recv())
    assert sub["type"] == "subscribe" and sub["payload"]["variables"]["app"] == "jobseek"
    if n == 1:
        ws.close(1011, "going away")
        return
    ws.send(json.dumps({"type": "ping"}))
    assert json.loads(ws.recv()) == {"type": "pong"}
    ws.send(json.dumps({"type": "next", "id": sub["id"],
                        "payload": {"data": {"metricUpdates": UPDATE}}}))
    ws.send(json.dumps({"type": "complete", "id": sub["id"]}))
    ws.recv()  # until the client closes


@pytest.fixture
def flaky() -> Iterator[str]:
    yield from scripted(transport_ws)


def test_sync_subscription_reconnects_after_a_drop(flaky: str) -> None:
    waits: list[float] = []
    client = Client(flaky, token="t", sleep=waits.append, jitter=lambda _lo, hi: hi)
    updates = list(client.subscribe("jobseek"))
    assert [u.metric_name for u in updates] == ["M"]
    assert waits == [0.5]  # one reconnect, after the first backoff step


def test_async_subscription_reconnects_after_a_drop(flaky: str) -> None:
    client = Client(flaky, token="t", jitter=lambda _lo, _hi: 0.0)

    async def collect() -> list[Any]:
        return [u async for u in client.asubscribe("jobseek")]

    assert [u.metric_name for u in asyncio.run(collect())] == ["M"]


def test_gives_up_after_max_reconnects() -> None:
    from central_analytics_client import ApiError

    client = Client("http://127.0.0.1:9/graphql", token="t", sleep=lambda _s: None, timeout=1)
    with pytest.raises(ApiError) as gave_up:
        next(client.subscribe("jobseek", max_reconnects=2))
    assert gave_up.value.code == "UNAVAILABLE"


def appsync(ws: ServerConnection, _n: int) -> None:
    query = parse_qs(urlsplit(ws.request.path).query)
    header = json.loads(base64.b64decode(query["header"][0]))
    assert header == {"host": "abc.appsync-api.us-east-1.amazonaws.com", "Authorization": "id-t"}
    assert query["payload"] == ["e30="]
    assert ws.subprotocol == "graphql-ws"
    assert json.loads(ws.recv()) == {"type": "connection_init"}
    ws.send(json.dumps({"type": "connection_ack", "payload": {"connectionTimeoutMs": 300000}}))
    start = json.loads(ws.recv())
    assert start["type"] == "start"
    assert start["payload"]["extensions"]["authorization"]["Authorization"] == "id-t"
    assert json.loads(start["payload"]["data"])["variables"]["app"] == "jobseek"
    ws.send(json.dumps({"type": "start_ack", "id": start["id"]}))
    ws.send(json.dumps({"type": "ka"}))
    ws.send(json.dumps({"type": "data", "id": start["id"],
                        "payload": {"data": {"metricUpdates": UPDATE}}}))
    ws.send(json.dumps({"type": "complete", "id": start["id"]}))
    ws.recv()


def test_appsync_dialect(monkeypatch: pytest.MonkeyPatch) -> None:
    for url in scripted(appsync):
        port = urlsplit(url).port
        # the dialect's URL for the real host, rewritten to the scripted server
        monkeypatch.setattr(AppSyncDialect, "ws_url", lambda self, _p=port, _o=AppSyncDialect.
                            ws_url: _o(self).replace(
                                "wss://abc.appsync-realtime-api.us-east-1.amazonaws.com",
                                f"ws://127.0.0.1:{_p}"))
        client = Client("https://abc.appsync-api.us-east-1.amazonaws.com/graphql", token="id-t")
        assert [u.application_id for u in client.subscribe("jobseek")] == ["jobseek"]


def test_appsync_iam_handshake_is_signed() -> None:
    from botocore.credentials import Credentials

    client = Client("https://abc.appsync-api.us-east-1.amazonaws.com/graphql",
                    aws_region="us-east-1", credentials=Credentials("AKIDEXAMPLE", "secret"))
    headers = client._ws_authorization("{}", "/connect")
    assert headers["host"] == "abc.appsync-api.us-east-1.amazonaws.com"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/appsync/aws4_request" in headers["Authorization"]
    url = AppSyncDialect(client.url, client._ws_authorization).ws_url()
    assert url.startswith("wss://abc.appsync-realtime-api.us-east-1.amazonaws.com/graphql?header=")
