"""GraphQL over WebSocket, the ``graphql-transport-ws`` protocol, for the local twin.

Written here (rather than ariadne's handler) for two reasons: a refused credential must close
with 4403, which a client reads as "do not reconnect", where ariadne closes with a plain 1000;
and queries sent over the socket run in a worker thread like HTTP ones, because the resolvers
read DuckDB synchronously and must not stall the event loop the ingest endpoint shares.
Messages: connection_init (payload ``{"Authorization": "Bearer <token>"}``, or the handshake's
header) -> connection_ack; subscribe -> next* -> complete, or error; ping/pong; complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from ariadne import subscribe
from graphql import parse
from graphql.language import OperationDefinitionNode, OperationType
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from analytics.api.errors import ApiError
from analytics.api.schema import QueryLimits, execute, format_error, schema

log = logging.getLogger(__name__)
PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_S = 10.0
#: ``authorization -> context`` (raises ApiError for a refused credential).
ContextFor = Callable[[str | None], Any]


def _authorization(payload: Any, websocket: WebSocket) -> str | None:
    if isinstance(payload, Mapping):
        for key in ("Authorization", "authorization"):
            if isinstance(payload.get(key), str):
                return str(payload[key])
        if isinstance(payload.get("token"), str):
            return f"Bearer {payload['token']}"
    return websocket.headers.get("authorization")


def _is_subscription(query: str, operation: str | None) -> bool:
    try:
        document = parse(query)
    except Exception:
        return False  # execution reports the syntax error
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((o for o in ops if operation is None or (o.name and o.name.value == operation)),
                  None)
    return chosen is not None and chosen.operation is OperationType.SUBSCRIPTION


class Connection:
    """One socket: its context once acknowledged, and a task per running operation."""

    def __init__(self, websocket: WebSocket, context_for: ContextFor) -> None:
        self.ws = websocket
        self.context_for = context_for
        self.context: Any = None
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.ws.send_json(message)

    async def run(self) -> None:
        requested = self.ws.scope.get("subprotocols") or []
        await self.ws.accept(subprotocol=PROTOCOL if PROTOCOL in requested else None)
        try:
            first = await asyncio.wait_for(self.ws.receive_json(), INIT_TIMEOUT_S)
        except TimeoutError:
            await self.ws.close(4408, "Connection initialisation timeout")
            return
        except (WebSocketDisconnect, ValueError, KeyError):
            return
        if not isinstance(first, dict) or first.get("type") != "connection_init":
            await self.ws.close(4401, "Unauthorized")
            return
        try:
            self.context = self.context_for(_authorization(first.get("payload"), self.ws))
        except ApiError as exc:
            await self.ws.close(4403, f"Forbidden: {exc.message}"[:120])
            return
        await self.send({"type": "connection_ack"})
        try:
            while True:
                message = await self.ws.receive_json()
                if not await self.handle(message):
                    return
        except (WebSocketDisconnect, RuntimeError):
            pass
        except ValueError:  # not JSON
            await self.ws.close(4400, "Invalid message")
        finally:
            for task in self.tasks.values():
                task.cancel()

    async def handle(self, message: Any) -> bool:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "connection_init":
            await self.ws.close(4429, "Too many initialisation requests")
            return False
        elif kind == "complete":
            task = self.tasks.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        elif kind == "subscribe" and isinstance(message.get("id"), str) \
                and isinstance(message.get("payload"), dict):
            op_id = message["id"]
            if op_id in self.tasks:
                await self.ws.close(4409, f"Subscriber for {op_id[:40]} already exists")
                return False
            self.tasks[op_id] = asyncio.create_task(self.operate(op_id, message["payload"]))
        else:
            await self.ws.close(4400, "Invalid message")
            return False
        return True

    async def operate(self, op_id: str, payload: dict[str, Any]) -> None:
        try:
            query = payload.get("query")
            if isinstance(query, str) and _is_subscription(query, payload.get("operationName")):
                await self.stream(op_id, payload)
            else:
                _, result = await run_in_threadpool(execute, payload, self.context)
                if "data" not in result:
                    await self.send({"type": "error", "id": op_id, "payload": result["errors"]})
                    return
                await self.send({"type": "next", "id": op_id, "payload": result})
            await self.send({"type": "complete", "id": op_id})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("graphql-transport-ws: operation %s failed", op_id[:40])
            await self.send({"type": "error", "id": op_id, "payload": [
                {"message": "internal error", "extensions": {"code": "INTERNAL"}}]})
        finally:
            self.tasks.pop(op_id, None)

    async def stream(self, op_id: str, payload: dict[str, Any]) -> None:
        ok, results = await subscribe(schema(), payload, context_value=self.context,
                                      validation_rules=[QueryLimits],
                                      error_formatter=format_error)
        if not ok:
            errors = results if isinstance(results, list) else [results]
            await self.send({"type": "error", "id": op_id, "payload": errors})
            return
        assert isinstance(results, AsyncIterator)
        try:
            async for result in results:
                out: dict[str, Any] = {}
                if result.data is not None:
                    out["data"] = result.data
                if result.errors:
                    out["errors"] = [format_error(e) for e in result.errors]
                await self.send({"type": "next", "id": op_id, "payload": out})
        finally:
            closer: Callable[[], Awaitable[Any]] | None = getattr(results, "aclose", None)
            if closer is not None:
                await closer()


async def serve(websocket: WebSocket, context_for: ContextFor) -> None:
    await Connection(websocket, context_for).run()
