"""Live updates over WebSocket, as a sync iterator and an async iterator, both reconnecting.

Two dialects, chosen from the URL: the local twin speaks ``graphql-transport-ws``
(connection_init with the bearer token, subscribe, next/complete/error, ping/pong); AppSync
speaks its own real-time protocol on ``wss://<id>.appsync-realtime-api.<region>...``
(``graphql-ws`` subprotocol; auth in the URL's ``header`` and in each ``start``; start_ack,
data, ka). A dropped connection is re-opened with full-jitter backoff and the subscription
re-sent; an authorization refusal (close 4401/4403, an ``error`` for the subscription) is raised
and never retried, since retrying would fail the same way. Updates committed while the
connection was down are not replayed: read them with ``get_metrics`` if a gap matters.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from central_analytics_client.errors import ApiError, first_error
from central_analytics_client.models import MetricUpdate
from central_analytics_client.queries import METRIC_UPDATES

#: Close codes that mean "this credential or request will never work": not retried.
TERMINAL_CLOSES = {4400, 4401, 4403, 4406}
BACKOFF_BASE, BACKOFF_CAP = 0.5, 30.0


class Dialect:
    """What differs between the local server and AppSync: URL, handshake and messages."""

    subprotocol = "graphql-transport-ws"

    def __init__(self, url: str, authorization: Callable[[str, str], dict[str, str]]) -> None:
        """``authorization(body, path_suffix)`` -> the headers proving who calls."""
        self.graphql_url = url
        self.authorization = authorization

    def ws_url(self) -> str:
        parts = urlsplit(self.graphql_url)
        return urlunsplit(("wss" if parts.scheme == "https" else "ws", *parts[1:]))

    def init(self) -> dict[str, Any]:
        return {"type": "connection_init", "payload": self.authorization("{}", "")}

    def start(self, op_id: str, variables: dict[str, Any]) -> dict[str, Any]:
        return {"type": "subscribe", "id": op_id,
                "payload": {"query": METRIC_UPDATES, "variables": variables}}

    def stop(self, op_id: str) -> dict[str, Any]:
        return {"type": "complete", "id": op_id}

    def read(self, message: dict[str, Any], op_id: str) -> tuple[str, Any]:
        """("update", MetricUpdate) | ("reply", message to send) | ("end", None) | ("skip", _)."""
        kind = message.get("type")
        if kind == "ping":
            return "reply", {"type": "pong"}
        if kind == "next" and message.get("id") == op_id:
            payload = message.get("payload") or {}
            if payload.get("errors"):
                raise first_error(payload["errors"])
            return "update", MetricUpdate.of(payload["data"]["metricUpdates"])
        if kind == "error" and message.get("id") == op_id:
            raise first_error(message.get("payload") or [])
        if kind == "complete" and message.get("id") == op_id:
            return "end", None
        return "skip", None


class AppSyncDialect(Dialect):
    """AppSync's real-time protocol (see module doc)."""

    subprotocol = "graphql-ws"

    def ws_url(self) -> str:
        parts = urlsplit(self.graphql_url)
        host = parts.netloc.replace("appsync-api", "appsync-realtime-api")
        header = base64.b64encode(json.dumps(self.authorization("{}", "/connect")).encode()
                                  ).decode()
        return urlunsplit(("wss", host, parts.path,
                           f"header={header}&payload=e30=", ""))

    def init(self) -> dict[str, Any]:
        return {"type": "connection_init"}

    def start(self, op_id: str, variables: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps({"query": METRIC_UPDATES, "variables": variables})
        return {"id": op_id, "type": "start", "payload": {
            "data": data, "extensions": {"authorization": self.authorization(data, "")}}}

    def stop(self, op_id: str) -> dict[str, Any]:
        return {"type": "stop", "id": op_id}

    def read(self, message: dict[str, Any], op_id: str) -> tuple[str, Any]:
        kind = message.get("type")
        if kind == "data" and message.get("id") == op_id:
            payload = message.get("payload") or {}
            if payload.get("errors"):
                raise first_error(payload["errors"])
            return "update", MetricUpdate.of(payload["data"]["metricUpdates"])
        if kind == "error":
            raise first_error((message.get("payload") or {}).get("errors") or [])
        if kind == "complete" and message.get("id") == op_id:
            return "end", None
        return "skip", None  # ka, start_ack, connection_ack


class Subscription:
    """The sync and async loops over one dialect (``sleep``/``jitter`` are test seams)."""

    def __init__(self, dialect: Dialect, variables: dict[str, Any], *, open_timeout: float,
                 max_reconnects: int | None, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[float, float], float] = random.uniform) -> None:
        self.dialect, self.variables = dialect, variables
        self.open_timeout, self.max_reconnects = open_timeout, max_reconnects
        self.sleep, self.jitter = sleep, jitter
        self.reconnects = 0  # connections re-opened (tests, logs)

    def _backoff(self, failures: int) -> float:
        return self.jitter(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, failures - 1)))

    def _give_up(self, failures: int, exc: BaseException) -> None:
        if isinstance(exc, ConnectionClosed) and exc.rcvd is not None \
                and exc.rcvd.code in TERMINAL_CLOSES:
            raise ApiError("UNAUTHENTICATED" if exc.rcvd.code in (4401, 4403) else
                           "BAD_REQUEST", f"closed by the server: {exc.rcvd.code} "
                           f"{exc.rcvd.reason}") from exc
        if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403):
            raise ApiError("UNAUTHENTICATED", f"HTTP {exc.response.status_code}") from exc
        if self.max_reconnects is not None and failures > self.max_reconnects:
            raise ApiError("UNAVAILABLE", f"gave up after {failures} connection failures: "
                           f"{exc}") from exc

    def __iter__(self) -> Iterator[MetricUpdate]:
        failures = 0
        while True:
            op_id = uuid.uuid4().hex
            try:
                with connect(self.dialect.ws_url(),
                             subprotocols=[Subprotocol(self.dialect.subprotocol)],
                             open_timeout=self.open_timeout) as ws:
                    ws.send(json.dumps(self.dialect.init()))
                    ws.send(json.dumps(self.dialect.start(op_id, self.variables)))
                    while True:
                        action, value = self.dialect.read(json.loads(ws.recv()), op_id)
                        if action == "update":
                            failures = 0
                            yield value
                        elif action == "reply":
                            ws.send(json.dumps(value))
                        elif action == "end":
                            return
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                failures += 1
                self._give_up(failures, exc)
                self.reconnects += 1
                self.sleep(self._backoff(failures))

    async def __aiter__(self) -> AsyncIterator[MetricUpdate]:
        failures = 0
        while True:
            op_id = uuid.uuid4().hex
            try:
                async with aconnect(self.dialect.ws_url(),
                                    subprotocols=[Subprotocol(self.dialect.subprotocol)],
                                    open_timeout=self.open_timeout) as ws:
                    await ws.send(json.dumps(self.dialect.init()))
                    await ws.send(json.dumps(self.dialect.start(op_id, self.variables)))
                    async for raw in ws:
                        action, value = self.dialect.read(json.loads(raw), op_id)
                        if action == "update":
                            failures = 0
                            yield value
                        elif action == "reply":
                            await ws.send(json.dumps(value))
                        elif action == "end":
                            return
                    raise ConnectionClosed(ws.protocol.close_rcvd, ws.protocol.close_sent)
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                failures += 1
                self._give_up(failures, exc)
                self.reconnects += 1
                await asyncio.sleep(self._backoff(failures))
