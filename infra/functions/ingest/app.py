"""Ingest Lambda for custom business metrics: ``POST /metrics`` and ``GET /health``.

One handler, two homes: on AWS it sits behind an HTTP API with an IAM authorizer and writes to
DynamoDB (plus an EMF copy for CloudWatch); the dashboard's local backend builds the same resolver
with :func:`build_resolver` and another sink (DuckDB) and a bearer-token check. Keeping one code
path means the local endpoint can never accept what the real one refuses, or the reverse.

Answers: 202 accepted, 400 shape, 401 auth, 403 an app the credential may not write (nothing
written), 413 size, 422 rules or a cardinality cap (nothing written), 503 storage (retry the
``notWritten`` indexes). 202 is only sent when every item is stored.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from .guard import (
    EVERY_APP,
    Authorizer,
    BatchSeries,
    Caps,
    SeriesRegistry,
    iam_authorizer,
)
from .keys import MetricItem, build_item, dedupe
from .models import MAX_BODY_BYTES, FieldError, ShapeError, parse_body, validate_metrics
from .registry import DynamoDBRegistry
from .sinks import DynamoDBSink, MetricSink

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "central-analytics-ingest"))

#: ``authenticate(headers) -> bool``; header names as received (API Gateway lower-cases them).
Authenticator = Callable[[Mapping[str, str]], bool]
ROUTES = {"/metrics": "POST", "/health": "GET"}


def default_namespace(app_id: str) -> str:
    """EMF namespace of an app without an explicit mapping."""
    return f"Application/{app_id}"


def parse_allowed_apps(spec: str) -> frozenset[str]:
    """``"jobseek, ilikeyacut"`` -> frozenset; empty means no app may write (fail closed)."""
    return frozenset(part.strip() for part in spec.split(",") if part.strip())


def parse_namespaces(spec: str) -> dict[str, str]:
    """``"jobseek=JobSeek/Business,ilikeyacut=ILikeYaCut/Business"`` -> {app: namespace}.

    CloudWatch namespaces cannot contain ``,`` or ``=``, so this flat form is unambiguous.
    """
    pairs = (part.split("=", 1) for part in spec.split(",") if "=" in part)
    return {app.strip(): ns.strip() for app, ns in pairs if app.strip() and ns.strip()}


def parse_principals(spec: str) -> dict[str, list[str]]:
    """``INGEST_PRINCIPALS``: JSON ``{"app": ["arn:aws:iam::123:role/writer", ...]}``."""
    if not spec.strip():
        return {}
    data = json.loads(spec)
    if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in data.values()):
        raise ValueError("INGEST_PRINCIPALS must be a JSON object of app -> list of ARNs")
    return {str(k): list(v) for k, v in data.items()}


def parse_caps(spec: str) -> dict[str, Caps]:
    """``INGEST_CAPS``: JSON ``{"app": [max_metric_names, max_dimension_sets]}``."""
    if not spec.strip():
        return {}
    return {str(app): Caps(int(v[0]), int(v[1])) for app, v in json.loads(spec).items()}


def env_flag(name: str, default: bool) -> bool:
    """Read a boolean environment variable (true/1/yes/on)."""
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def bearer_authenticator(token: str) -> Authenticator:
    """``Authorization: Bearer <token>`` check for the local server (constant-time compare)."""
    expected = f"Bearer {token}".encode()

    def authenticate(headers: Mapping[str, str]) -> bool:
        got = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        return bool(token) and hmac.compare_digest(got.strip().encode("utf-8", "replace"), expected)

    return authenticate


def _json(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, separators=(",", ":")),
        headers=dict(headers or {}),
    )


def _errors(status: int, errors: Sequence[FieldError], **extra: Any) -> Response:
    return _json(status, {"errors": [e.as_dict() for e in errors], **extra})


def _body_bytes(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ShapeError("body is not valid base64") from None
    if isinstance(body, bytes):
        return body
    return str(body).encode("utf-8", "surrogatepass")  # lone surrogates: JSON parsing rejects


def _forbidden(raw_items: list[Any], apps: frozenset[str],
               known: frozenset[str]) -> list[FieldError]:
    """Items naming a known app outside ``apps`` (an unknown app is a 422 of validation)."""
    if "*" in apps:
        return []
    errors = []
    for index, raw in enumerate(raw_items):
        app = raw.get("applicationId") if isinstance(raw, Mapping) else None
        if isinstance(app, str) and app in known and app not in apps:
            errors.append(FieldError(index, "applicationId",
                                     f"this credential may not write {app[:64]!r}"))
    return errors


def _series(items: Iterable[MetricItem]) -> BatchSeries:
    out: dict[str, dict[str, set[str]]] = {}
    for item in items:
        out.setdefault(item.app, {}).setdefault(item.metric_name, set()).add(item.dims)
    return {a: {m: frozenset(d) for m, d in ms.items()} for a, ms in out.items()}


def _has_iam_identity(event: Mapping[str, Any]) -> bool:
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    return isinstance(authorizer, Mapping) and bool(authorizer.get("iam"))


def write_emf(items: Iterable[MetricItem], namespaces: Mapping[str, str]) -> None:
    """Print one EMF line per item under its app's namespace: CloudWatch creates the metric from
    the log line, with no PutMetricData call and only the caller's dimensions.

    EphemeralMetrics rather than the shared ``Metrics``: that one has a single namespace and keeps
    state in class attributes. ``service=""`` keeps POWERTOOLS_SERVICE_NAME from adding a
    ``service`` dimension (that would change the metric's identity), and the dimensions go in
    through ``dimension_set`` because ``add_dimension`` stops at 29 while CloudWatch allows 30.
    """
    for item in items:
        emf = EphemeralMetrics(
            namespace=namespaces.get(item.app) or default_namespace(item.app),
            service="",
            dimension_set=dict(item.dimensions),
        )
        emf.add_metric(name=item.metric_name, unit=item.unit or "None", value=float(item.value))
        emf.set_timestamp(item.ts_ms)
        emf.flush_metrics()


@dataclass(frozen=True)
class PendingWrite:
    """A validated request whose items are being written: ``finish(wait())`` is its answer."""

    ticket: Any | None  # the sink's ticket when it queues writes (group commit), else None
    wait: Callable[[], list[int]]
    finish: Callable[[list[int]], Response]


class IngestHandler:
    """The ingest contract as plain methods of an event: no routing, no per-process state.

    Powertools' resolver keeps the current event in class attributes, so it serves one event
    at a time; this handler does not, so a server may call :meth:`post` from many threads at
    once. The cardinality check and the write (or its submission, for a sink with ``submit``
    such as the local group commit) happen under one lock, so two concurrent batches cannot
    both pass a cap; the wait for the commit happens outside it, so concurrent requests share
    one transaction.
    """

    def __init__(
        self,
        sink: MetricSink,
        allowed_apps: Iterable[str],
        *,
        clock: Callable[[], float] = time.time,
        emit_emf: bool = True,
        authenticate: Authenticator | None = None,
        require_iam_auth: bool = False,
        namespaces: Mapping[str, str] | None = None,
        retention_days: int = 90,
        authorize: Authorizer | None = None,
        registry: SeriesRegistry | None = None,
        caps: Mapping[str, Caps] | None = None,
        health_check: Callable[[], str | None] | None = None,
    ) -> None:
        if retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, not {retention_days}")
        self.sink = sink
        self.allowed = frozenset(allowed_apps)
        self.clock = clock
        self.emit_emf = emit_emf
        self.authenticate = authenticate
        self.require_iam_auth = require_iam_auth
        self.namespaces = dict(namespaces or {})
        self.retention_days = retention_days
        self.authorize = authorize
        self.registry = registry
        self.caps = dict(caps or {})
        self.health_check = health_check
        self._admission = threading.Lock()

    def _unhealthy(self) -> str | None:
        return self.health_check() if self.health_check is not None else None

    def health(self) -> Response:
        if self._unhealthy() is not None:
            return _json(503, {"status": "unavailable", "reason": "storage unavailable"})
        return _json(200, {"status": "ok"})

    def apps_of(self, event: Mapping[str, Any]) -> frozenset[str] | None:
        """The apps the request's credential may write (None: not authenticated)."""
        headers = event.get("headers") or {}
        apps = self.authorize(event) if self.authorize is not None else EVERY_APP
        if (self.require_iam_auth and not _has_iam_identity(event)) or (
            self.authenticate is not None and not self.authenticate(headers)
        ):
            return None
        return apps

    def post(self, event: Mapping[str, Any]) -> Response:
        """``POST /metrics`` of one API Gateway HTTP API (v2) event."""
        started = self.begin_post(event)
        if isinstance(started, Response):
            return started
        return started.finish(started.wait())

    def begin_post(self, event: Mapping[str, Any]) -> Response | PendingWrite:
        """:meth:`post` up to the write: the answer, or the write under way (an asynchronous
        server awaits its ticket instead of holding a thread, then calls ``finish``)."""
        problem = self._unhealthy()
        if problem is not None:
            logger.warning("ingest unavailable", extra={"status": 503, "reason": problem})
            return _errors(503, [FieldError(None, None, "storage unavailable; retry later")])
        apps = self.apps_of(event)
        if apps is None:
            logger.info("ingest rejected", extra={"status": 401})
            return _errors(401, [FieldError(None, None, "missing or invalid credentials")])
        try:
            body = _body_bytes(event)
            if len(body) > MAX_BODY_BYTES:
                logger.info("ingest rejected", extra={"status": 413, "bytes": len(body)})
                message = f"body is {len(body)} bytes; at most {MAX_BODY_BYTES}"
                return _errors(413, [FieldError(None, None, message)])
            raw_items = parse_body(body)
        except ShapeError as exc:
            logger.info("ingest rejected", extra={"status": 400, "reason": exc.error.message})
            return _errors(400, [exc.error])

        forbidden = _forbidden(raw_items, apps, self.allowed)
        if forbidden:
            logger.info("ingest rejected", extra={"status": 403, "errorCount": len(forbidden)})
            return _errors(403, forbidden)

        now_ms = int(self.clock() * 1000)
        valid, errors = validate_metrics(raw_items, allowed_apps=self.allowed, now_ms=now_ms)
        if errors:
            logger.info(
                "ingest rejected",
                extra={"status": 422, "items": len(raw_items), "errorCount": len(errors)},
            )
            return _errors(422, errors)

        items = [
            build_item(
                app=m.applicationId,
                metric_name=m.metricName,
                value=m.value,
                unit=m.unit,
                dimensions=m.dimension_pairs(),
                ts_ms=m.timestamp if m.timestamp is not None else now_ms,
                received_at_ms=now_ms,
                retention_days=self.retention_days,
            )
            for m in valid
        ]
        unique, groups = dedupe(items)
        with self._admission:
            if self.registry is not None:
                over = self.registry.admit(_series(items), caps=self.caps, now_ms=now_ms,
                                           window_ms=self.retention_days * 86_400_000)
                if over is not None:
                    logger.info("ingest rejected", extra={"status": 422, "cap": over.cap,
                                                          "app": over.app})
                    index = next(i for i, m in enumerate(valid) if m.applicationId == over.app
                                 and (over.metric is None or m.metricName == over.metric))
                    field = "metricName" if over.metric is None else "dimensions"
                    return _errors(422, [FieldError(index, field, over.message())],
                                   cap=over.cap, limit=over.limit)
            ticket, wait = self._begin_write(unique)
        return PendingWrite(ticket, wait,
                            lambda failed: self._answer(items, unique, groups, failed))

    def _begin_write(self, unique: list[MetricItem]
                     ) -> tuple[Any | None, Callable[[], list[int]]]:
        """Start storing ``unique``: (the sink's ticket if it queues writes, the call giving
        the positions not written)."""
        submit = getattr(self.sink, "submit", None)
        try:
            if submit is not None:
                ticket = submit(unique)
                return ticket, lambda: _guarded(ticket.wait, len(unique))
            failed = self.sink.write(unique)
        except Exception:  # a sink must not raise, but if one does the data is still unwritten
            logger.exception("sink failed")
            failed = list(range(len(unique)))
        return None, lambda: failed

    def _answer(self, items: list[MetricItem], unique: list[MetricItem],
                groups: list[list[int]], failed_at: list[int]) -> Response:
        failed = {i for i in failed_at if 0 <= i < len(unique)}
        not_written = sorted(pos for u in failed for pos in groups[u])
        written = [item for u, item in enumerate(unique) if u not in failed]
        if self.emit_emf and written:
            try:
                write_emf(written, self.namespaces)
            except Exception:  # the datapoints are stored; a lost EMF copy is not worth a retry
                logger.exception("EMF emission failed")
        outcome = {
            "items": len(items),
            "written": len(items) - len(not_written),
            "notWritten": len(not_written),
            "apps": sorted({item.app for item in items}),
        }
        if not_written:
            logger.warning("ingest incomplete", extra={"status": 503, **outcome})
            errors = [FieldError(i, None, "not written; retry this item") for i in not_written]
            return _errors(503, errors, notWritten=not_written)
        logger.info("ingest accepted", extra={"status": 202, **outcome})
        return _json(202, {"accepted": len(items)})


def _guarded(wait: Callable[[], list[int]], count: int) -> list[int]:
    try:
        return wait()
    except Exception:
        logger.exception("sink failed")
        return list(range(count))


def not_found_response(method: str, path: str) -> Response:
    """405 naming the allowed method on a known path, else 404 (both JSON)."""
    allowed_method = ROUTES.get(path)
    if allowed_method:
        message = f"{method} not allowed on {path}; use {allowed_method}"
        return _json(405, {"errors": [FieldError(None, None, message).as_dict()]},
                     {"Allow": allowed_method})
    return _errors(404, [FieldError(None, None, f"no route {path[:100]}")])


def internal_error() -> Response:
    return _errors(500, [FieldError(None, None, "internal error")])


class IngestResolver(APIGatewayHttpResolver):
    """A Powertools resolver that keeps its handler: the read API's Lambda writes through the
    very handler (and its caches and clients) that the cached default resolver routes to."""

    def __init__(self, handler: IngestHandler) -> None:
        super().__init__()
        self.handler = handler


def resolver_for(handler: IngestHandler) -> IngestResolver:
    """The Powertools resolver routing API Gateway events to ``handler`` (the Lambda's)."""
    resolver = IngestResolver(handler)

    @resolver.get("/health")
    def health() -> Response:
        return handler.health()

    @resolver.post("/metrics")
    def post_metrics() -> Response:
        return handler.post(resolver.current_event.raw_event)

    @resolver.not_found
    def not_found(_: NotFoundError) -> Response:
        event = resolver.current_event
        return not_found_response(event.http_method, event.path)

    @resolver.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:  # a bug, never client input: still answer JSON
        logger.exception("unhandled error")
        return internal_error()

    return resolver


def build_handler(sink: MetricSink, allowed_apps: Iterable[str], **options: Any
                  ) -> IngestHandler:
    """:class:`IngestHandler` with :func:`build_resolver`'s options."""
    return IngestHandler(sink, allowed_apps, **options)


def build_resolver(
    sink: MetricSink,
    allowed_apps: Iterable[str],
    *,
    clock: Callable[[], float] = time.time,
    emit_emf: bool = True,
    authenticate: Authenticator | None = None,
    require_iam_auth: bool = False,
    namespaces: Mapping[str, str] | None = None,
    retention_days: int = 90,
    authorize: Authorizer | None = None,
    registry: SeriesRegistry | None = None,
    caps: Mapping[str, Caps] | None = None,
    health_check: Callable[[], str | None] | None = None,
) -> APIGatewayHttpResolver:
    """Create the resolver serving the ingest contract.

    ``clock`` returns epoch seconds. ``authenticate`` (if given) must accept the request headers;
    ``require_iam_auth`` additionally demands ``requestContext.authorizer.iam`` (set by API
    Gateway's IAM authorizer). ``authorize`` maps the request to the apps its credential may
    write (None: 401); without it every authenticated caller may write every allowed app.
    ``registry`` (with per-app ``caps``) refuses batches that would pass a cardinality cap.
    ``health_check`` returns why storage is unusable (None: fine): /health is then 503, and
    so is every POST, before anything is parsed. ``emit_emf=False`` for the local server.
    """
    return resolver_for(IngestHandler(
        sink, allowed_apps, clock=clock, emit_emf=emit_emf, authenticate=authenticate,
        require_iam_auth=require_iam_auth, namespaces=namespaces, retention_days=retention_days,
        authorize=authorize, registry=registry, caps=caps, health_check=health_check))


def default_handler() -> IngestHandler:
    """The Lambda's handler (:func:`default_resolver`'s): the read API's Lambda
    (``recordCustomMetric``) writes through this same handler."""
    return default_resolver().handler


def _handler_from_env(*, clock: Callable[[], float] = time.time) -> IngestHandler:
    """The handler the environment configures; ``clock`` is its "now" (the wall clock in the
    Lambda, a fixed one in tests, so "received" and the timestamp window do not move)."""
    table = os.environ.get("METRICS_TABLE")
    if not table:
        raise RuntimeError("METRICS_TABLE is not set")
    sink = DynamoDBSink(table)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        _ = sink.client  # once per execution environment, during init, not on a request's clock
    require_iam = env_flag("REQUIRE_IAM_AUTH", True)
    return IngestHandler(
        sink,
        parse_allowed_apps(os.environ.get("ALLOWED_APPLICATIONS", "")),
        clock=clock,
        emit_emf=env_flag("EMIT_EMF", True),
        require_iam_auth=require_iam,
        namespaces=parse_namespaces(os.environ.get("APP_NAMESPACES", "")),
        retention_days=int(os.environ.get("RETENTION_DAYS", "90")),
        # Unmapped callers may write nothing (403): the catalog names who writes each app.
        authorize=iam_authorizer(parse_principals(os.environ.get("INGEST_PRINCIPALS", "")))
        if require_iam else None,
        # The stack always sets INGEST_CAPS (the catalog's caps): then the registry counts.
        registry=DynamoDBRegistry(table, client_factory=lambda: sink.client)
        if "INGEST_CAPS" in os.environ else None,
        caps=parse_caps(os.environ.get("INGEST_CAPS", "")),
    )


@functools.cache
def default_resolver() -> IngestResolver:
    """The Lambda's resolver, configured from the environment on first use (cold start)."""
    return resolver_for(_handler_from_env())


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get("METRICS_TABLE"):
    default_resolver()  # cold start: configuration errors fail the init, not a request


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``app.lambda_handler``)."""
    return default_resolver().resolve(event, context)
