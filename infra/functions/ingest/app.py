"""Ingest Lambda for custom business metrics: ``POST /metrics`` and ``GET /health``.

One handler, two homes: on AWS it sits behind an HTTP API with an IAM authorizer and writes to
DynamoDB (plus an EMF copy for CloudWatch); the dashboard's local backend builds the same resolver
with :func:`build_resolver` and another sink (DuckDB) and a bearer-token check. Keeping one code
path means the local endpoint can never accept what the real one refuses, or the reverse.

Answers: 202 accepted, 400 shape, 401 auth, 403 an app the credential may not write (nothing
written), 413 size, 422 rules or a cardinality cap (nothing written), 503 storage (retry the
``notWritten`` indexes). 202 is only sent when every item is stored.

This module wires the contract (``handler.py``) to Powertools' resolver and to the Lambda's
environment (``config.py``); the names other code reaches through it are kept here.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext

from .config import (
    default_namespace,
    env_flag,
    parse_allowed_apps,
    parse_caps,
    parse_namespaces,
    parse_principals,
)
from .guard import (
    Authorizer,
    Caps,
    SeriesRegistry,
    iam_authorizer,
)
from .handler import (
    Authenticator,
    IngestHandler,
    PendingWrite,
    bearer_authenticator,
    internal_error,
    logger,
    not_found_response,
)
from .registry import DynamoDBRegistry
from .sinks import DynamoDBSink, MetricSink

__all__ = ["Authenticator", "IngestHandler", "PendingWrite", "bearer_authenticator",
           "default_namespace", "internal_error", "logger", "parse_principals"]


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
