"""Bridge between plain HTTP and the resolver: API Gateway HTTP API (payload v2.0) events.

Why: the dashboard's local backend serves the *same* resolver as the Lambda. Rather than each
caller hand-building events (and drifting from what API Gateway really sends), it calls
:func:`invoke` with the method, path, headers and raw body it received; tests use
:func:`http_api_event` to produce the events API Gateway would send to the Lambda.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

#: Powertools resolvers keep the current event in *class* attributes (``BaseRouter.current_event``),
#: shared by every resolver in the process, so two concurrent ``resolve`` calls would read each
#: other's request. Lambda runs one event at a time; a threaded local server must serialise.
RESOLVE_LOCK = threading.Lock()


class Resolver(Protocol):
    """The part of a Powertools resolver that :func:`invoke` uses."""

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Route one event and return the API Gateway proxy response."""
        ...


def http_api_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    iam: bool = True,
    query: str = "",
) -> dict[str, Any]:
    """An HTTP API payload-v2.0 event as API Gateway builds it.

    Header names are lower-cased (API Gateway does that); a ``bytes`` body that is not UTF-8 is
    base64-encoded with ``isBase64Encoded``. ``iam=True`` adds ``requestContext.authorizer.iam``,
    which API Gateway only sets after its IAM authorizer accepted a SigV4 signature.
    """
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    encoded = False
    text: str | None
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    else:
        text = body
    now = time.time()
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": lower.get("host", "localhost"),
        "domainPrefix": "local",
        "http": {
            "method": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": lower.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if iam:
        context["authorizer"] = {
            "iam": {
                "accessKey": "AKIAEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAEXAMPLE",
                "principalOrgId": None,
                "userArn": "arn:aws:iam::123456789012:user/example",
                "userId": "AIDAEXAMPLE",
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lower,
        "requestContext": context,
        "isBase64Encoded": encoded,
    }
    if text is not None:
        event["body"] = text
    return event


def invoke(
    resolver: Resolver,
    method: str,
    path: str,
    *, headers: Mapping[str, str],
    body: bytes,
) -> tuple[int, dict[str, str], bytes]:
    """Serve one plain HTTP request with ``resolver``: returns (status, headers, body bytes).

    ``path`` may carry a query string.
    No IAM context is attached: a local resolver authenticates with its ``authenticate`` hook.
    Safe to call from several threads (see :data:`RESOLVE_LOCK`).
    """
    route, _, query = path.partition("?")
    event = http_api_event(method, route, headers=headers, body=body, iam=False, query=query)
    with RESOLVE_LOCK:
        answer = resolver.resolve(event, None)
    raw = answer.get("body") or ""
    data = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode("utf-8")
    out_headers = {k: v if isinstance(v, str) else ", ".join(v) for k, v in
                   (answer.get("headers") or {}).items()}  # fmt: skip
    return int(answer["statusCode"]), out_headers, data
