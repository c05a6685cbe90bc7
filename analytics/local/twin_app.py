"""The local twin's one ASGI app: ingest, health and the GraphQL API on one port.

``POST /metrics`` goes straight to the ingest Lambda's handler: validated in the event loop,
its commit awaited (no thread held per request, so many share one group commit); every other
method or path on the ingest routes goes through the Lambda's Powertools resolver, so 404/405
answers are the Lambda's own. The body is refused unread when its declared size passes
:data:`READ_CAP_BYTES` or it is chunked. ``/graphql`` serves POSTed queries (worker thread)
and ``graphql-transport-ws`` subscriptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from analytics.api.errors import ApiError, Code
from analytics.api.identity import principal_for_apps
from analytics.api.schema import ApiContext, error_result, execute
from analytics.local import graphql_ws
from analytics.local.group_commit import WAIT_S
from ingest import app as ingest_app
from ingest import events as ingest_events

if TYPE_CHECKING:
    from analytics.local.ingest_server import IngestServer

log = logging.getLogger("analytics.local.ingest_server")
READ_CAP_BYTES = 4 * 262_144
GRAPHQL_MAX_BYTES = 262_144
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
JSON = "application/json"


def _error(status: int, message: str, *, close: bool = False) -> Response:
    body = json.dumps({"errors": [{"index": None, "field": None, "message": message}]})
    headers = {"Connection": "close"} if close else None
    return Response(body, status, headers=headers, media_type=JSON)


def _from_lambda(response: Any) -> Response:
    headers = {k: v for k, v in (response.headers or {}).items()
               if k.lower() not in ("content-length", "connection")}
    body = response.body if isinstance(response.body, str | bytes) else ""
    return Response(body, response.status_code, headers=headers,
                    media_type=response.content_type or JSON)


async def _body(request: Request) -> bytes | Response:
    raw_length = request.headers.get("content-length")
    if raw_length is not None:
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError
        except ValueError:
            return _error(400, f"invalid Content-Length {raw_length[:40]!r}", close=True)
        if length > READ_CAP_BYTES:
            return _error(413, f"body is {length} bytes; at most 262144", close=True)
    elif request.headers.get("transfer-encoding"):
        return _error(411, "send the body with a Content-Length (no chunked encoding)",
                      close=True)
    return await request.body()


def _settle(future: asyncio.Future[list[int]], failed: list[int]) -> None:
    if not future.done():
        future.set_result(failed)


async def _post(handler: Any, event: dict[str, Any]) -> Any:
    """The ingest handler without a thread per request: validation runs here (it is quick),
    and the commit is awaited through its ticket, so concurrent requests cost no threads."""
    started = handler.begin_post(event)
    if not isinstance(started, ingest_app.PendingWrite):
        return started
    ticket = started.ticket
    if ticket is None or not hasattr(ticket, "add_done_callback"):
        return started.finish(await run_in_threadpool(started.wait))
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[int]] = loop.create_future()
    ticket.add_done_callback(lambda failed: loop.call_soon_threadsafe(
        _settle, done, failed))
    try:
        failed = await asyncio.wait_for(done, WAIT_S)
    except TimeoutError:
        failed = list(range(len(ticket.items)))
    return started.finish(failed)


def build_app(server: IngestServer) -> Starlette:
    ingest = server.ingest

    def counted(response: Response) -> Response:
        server.count(response.status_code)
        return response

    async def metrics(request: Request) -> Response:
        try:
            body = await _body(request)
        except ClientDisconnect:
            log.info("local ingest: client %s went away before its body arrived",
                     request.client.host if request.client else "?")
            return Response(status_code=400)
        if isinstance(body, Response):
            return counted(body)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = dict(request.headers.items())
        try:
            if request.method == "POST" and request.url.path == "/metrics":
                event = ingest_events.http_api_event("POST", request.url.path, headers=headers,
                                                     body=body, iam=False,
                                                     query=request.url.query)
                return counted(_from_lambda(await _post(ingest.handler, event)))
            status, out_headers, data = await run_in_threadpool(
                ingest_events.invoke, ingest.resolver, request.method, path, headers=headers,
                body=body)
        except Exception:  # the handler answers 500 itself; this is a bug in the bridge
            log.exception("local ingest: request failed")
            return counted(_from_lambda(ingest_app.internal_error()))
        out_headers.pop("Content-Length", None)
        return counted(Response(data, status, headers=out_headers))

    def context_for(authorization: str | None) -> ApiContext:
        api = server.api
        if api is None:
            raise ApiError(Code.UPSTREAM_UNAVAILABLE, "the API is starting; retry shortly")
        headers = {"authorization": authorization} if authorization else {}
        apps = ingest.authorize({"headers": headers})
        principal = principal_for_apps(ingest.name_of(apps), apps)
        return ApiContext(api, principal, server.clock, recorder=_recorder(ingest, headers),
                          hub=ingest.hub, deadline_s=api.settings.page_deadline_s)

    async def graphql(request: Request) -> Response:
        if request.method != "POST":
            return Response(json.dumps(error_result(Code.BAD_ARGUMENT, "POST the query as "
                                                    "JSON")), 405, headers={"Allow": "POST"},
                            media_type=JSON)
        try:
            ctx = context_for(request.headers.get("authorization"))
            body = await _body(request)
        except ApiError as exc:
            status = 401 if exc.code is Code.UNAUTHENTICATED else 503
            return Response(json.dumps(error_result(exc.code, exc.message)), status,
                            media_type=JSON)
        except ClientDisconnect:
            return Response(status_code=400)
        if isinstance(body, Response):
            return body
        if len(body) > GRAPHQL_MAX_BYTES:
            return Response(json.dumps(error_result(
                Code.QUERY_TOO_COMPLEX, f"the request is {len(body)} bytes; at most "
                f"{GRAPHQL_MAX_BYTES}")), 413, media_type=JSON)
        try:
            data = json.loads(body)
        except ValueError:
            return Response(json.dumps(error_result(Code.BAD_ARGUMENT, "the body is not JSON")),
                            400, media_type=JSON)
        status, result = await run_in_threadpool(execute, data, ctx)
        return Response(json.dumps(result, separators=(",", ":")), status, media_type=JSON)

    async def graphql_socket(websocket: WebSocket) -> None:
        await graphql_ws.serve(websocket, context_for)

    return Starlette(routes=[
        Route("/graphql", graphql, methods=METHODS),
        WebSocketRoute("/graphql", graphql_socket),
        Route("/{path:path}", metrics, methods=METHODS),
    ])


def _recorder(ingest: Any, headers: Mapping[str, str]
              ) -> Callable[[Mapping[str, Any]], tuple[int, Mapping[str, Any]]]:
    """The mutation's write path: the ingest handler, with the caller's own credential."""

    def record(payload: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]]:
        event = ingest_events.http_api_event("POST", "/metrics", headers=dict(headers),
                                             body=json.dumps(payload), iam=False)
        response = ingest.handler.post(event)
        body = response.body if isinstance(response.body, str) else "{}"
        return response.status_code, json.loads(body or "{}")

    return record
