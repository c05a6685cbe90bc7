"""``Client``: the read API's queries, live updates and ingestion behind one object.

Locally: ``Client("http://127.0.0.1:8787/graphql", token=...)`` (an app's ingest token reads
and writes that app; the operator token every app). On AWS: the AppSync URL and
``aws_region=`` (SigV4 with botocore's credentials; IAM auth) or ``token=`` a Cognito ID token,
and ``ingest_url=`` the ingest HTTP API's ``/metrics``. Every call has a timeout; queries are
retried on connection failures and 5xx with backoff (they are reads), writes as the ingest
contract says (:mod:`central_analytics_client.ingest`).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from central_analytics_client import queries
from central_analytics_client.errors import ApiError, first_error
from central_analytics_client.ingest import Dimensions, Sender, make_metric
from central_analytics_client.models import (
    CostBreakdown,
    MetricsResponse,
    MetricUpdate,
    RealtimeMetrics,
)
from central_analytics_client.sigv4 import SigV4, signed_headers
from central_analytics_client.subscriptions import AppSyncDialect, Dialect, Subscription

Instant = datetime | str | int


def _instant(value: Instant) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _day(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


class Client:
    """See the module doc. Use as a context manager, or call :meth:`close`."""

    def __init__(self, url: str, *, token: str | None = None, aws_region: str | None = None,
                 ingest_url: str | None = None, timeout: float = 10.0, retries: int = 3,
                 credentials: Any | None = None, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[float, float], float] = random.uniform) -> None:
        if token is None and aws_region is None:
            raise ValueError("pass token= (local or Cognito) or aws_region= (SigV4)")
        self.url = url
        self.token = token
        self.aws_region = aws_region
        self.credentials = credentials
        self.retries = retries
        self.sleep, self.jitter = sleep, jitter
        self.ingest_url = ingest_url or _sibling(url, "/metrics")
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout, transport=transport, trust_env=not _local(url))

    # -- plumbing ---------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _is_appsync(self) -> bool:
        return "appsync-api" in (urlsplit(self.url).hostname or "")

    def _authorize(self, request: httpx.Request, service: str) -> httpx.Request:
        if self.token is not None:
            request.headers["Authorization"] = (self.token if self._is_appsync()
                                                and service == "appsync"
                                                else f"Bearer {self.token}")
            return request
        assert self.aws_region is not None
        return SigV4(self.aws_region, service, self.credentials)(request)

    def query(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL operation; its ``data``, or :class:`ApiError` for the first error."""
        payload = {"query": document, "variables": dict(variables or {})}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.jitter(0.0, min(5.0, 0.2 * 2 ** (attempt - 1))))
            request = self._http.build_request("POST", self.url, json=payload)
            try:
                response = self._http.send(self._authorize(request, "appsync"))
            except httpx.HTTPError as exc:
                problem = f"cannot reach {self.url}: {exc}"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                problem = f"HTTP {response.status_code}"
                continue
            try:
                body = response.json()
            except ValueError:
                raise ApiError("BAD_RESPONSE", f"HTTP {response.status_code}: not JSON") from None
            if body.get("errors"):
                raise first_error(body["errors"])
            if response.status_code >= 400 or not isinstance(body.get("data"), dict):
                raise ApiError("HTTP_" + str(response.status_code), str(body)[:200])
            return dict(body["data"])
        raise ApiError("UNAVAILABLE", f"gave up after {self.retries + 1} attempts: {problem}")

    # -- reads ------------------------------------------------------------------------------
    def get_metrics(self, app: str, metric_type: str, *, start: Instant, end: Instant,
                    granularity: str | None = None, statistics: Sequence[str] | None = None,
                    metric_name: str | None = None, dimensions: Mapping[str, str] | None = None,
                    resource: str | None = None) -> MetricsResponse:
        """One metric over ``[start, end)``: a series per resource (or dimension set) and
        statistic. ``metric_type`` e.g. ``"LATENCY"``, or ``"CUSTOM"`` with ``metric_name``."""
        variables: dict[str, Any] = {
            "app": app, "type": metric_type, "start": _instant(start), "end": _instant(end),
            "granularity": granularity,
            "statistics": list(statistics) if statistics is not None else None,
            "name": metric_name, "resource": resource,
            "dimensions": None if dimensions is None else
            [{"name": k, "value": v} for k, v in dimensions.items()]}
        return MetricsResponse.of(self.query(queries.GET_METRICS, variables)["getMetrics"])

    def get_realtime(self, app: str) -> RealtimeMetrics:
        """The last 15 minutes of ``app`` (what the Realtime page shows)."""
        data = self.query(queries.GET_REALTIME, {"app": app})
        return RealtimeMetrics.of(data["getRealtimeMetrics"])

    def get_cost_analysis(self, start: date | str, end: date | str) -> CostBreakdown:
        """Spend over whole days ``[start, end)`` by service and app, with the month's forecast."""
        data = self.query(queries.GET_COSTS, {"start": _day(start), "end": _day(end)})
        return CostBreakdown.of(data["getCostAnalysis"])

    # -- writes -----------------------------------------------------------------------------
    def _sender(self) -> Sender:
        return Sender(self._http, self.ingest_url, retries=self.retries, sleep=self.sleep,
                      jitter=self.jitter,
                      prepare=lambda request: self._authorize(request, "execute-api"))

    def record(self, app: str, metric_name: str, value: float, *, unit: str | None = None,
               dimensions: Dimensions | None = None,
               timestamp: datetime | int | str | None = None) -> int:
        """Send one metric; 1 once stored. Raises :class:`IngestError`."""
        return self.record_many([make_metric(app, metric_name, value, unit=unit,
                                             dimensions=dimensions, timestamp=timestamp)])

    def record_many(self, metrics: Iterable[Mapping[str, Any]]) -> int:
        """Send wire-form metrics (see ``make_metric``) in batches of 100 / 256 KB; returns how
        many were stored. The 503 ``notWritten`` indexes are resent, 5xx/429 retried."""
        return self._sender().send_all(metrics)

    # -- live updates -----------------------------------------------------------------------
    def _subscription(self, app: str, metric_types: Sequence[str],
                      metric_names: Sequence[str] | None, max_reconnects: int | None
                      ) -> Subscription:
        variables = {"app": app, "types": list(metric_types),
                     "names": None if metric_names is None else list(metric_names)}
        dialect_type = AppSyncDialect if self._is_appsync() else Dialect
        return Subscription(dialect_type(self.url, self._ws_authorization), variables,
                            open_timeout=self.timeout, max_reconnects=max_reconnects,
                            sleep=self.sleep, jitter=self.jitter)

    def _ws_authorization(self, body: str, suffix: str) -> dict[str, str]:
        host = urlsplit(self.url).hostname or ""
        if self.token is not None:
            if self._is_appsync():
                return {"host": host, "Authorization": self.token}
            return {"Authorization": f"Bearer {self.token}"}
        assert self.aws_region is not None
        return signed_headers("POST", self.url + suffix, body.encode(), {
            "accept": "application/json, text/javascript", "content-encoding": "amz-1.0",
            "content-type": "application/json; charset=UTF-8", "host": host},
            region=self.aws_region, service="appsync", credentials=self.credentials)

    def subscribe(self, app: str, metric_types: Sequence[str] = ("CUSTOM",), *,
                  metric_names: Sequence[str] | None = None,
                  max_reconnects: int | None = None) -> Iterator[MetricUpdate]:
        """Committed updates of ``app`` as they are stored (blocking iterator; reconnects)."""
        return iter(self._subscription(app, metric_types, metric_names, max_reconnects))

    def asubscribe(self, app: str, metric_types: Sequence[str] = ("CUSTOM",), *,
                   metric_names: Sequence[str] | None = None,
                   max_reconnects: int | None = None) -> AsyncIterator[MetricUpdate]:
        """:meth:`subscribe` as an async iterator (reconnects)."""
        return aiter(self._subscription(app, metric_types, metric_names, max_reconnects))


def _sibling(url: str, path: str) -> str:
    parts = urlsplit(url)
    base = parts.path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, base + path, "", ""))


def _local(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
