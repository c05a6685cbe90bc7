"""Tiny HTTP client for the ingest endpoint (stdlib only, so any app can vendor it).

Why it retries the way it does: the endpoint answers 202 only when every item is stored, and a 503
names the request indexes it did not store (``notWritten``). Resending exactly those keeps the
data complete without re-sending work; resending anything twice is harmless anyway because the
store is idempotent per (app, metric, dimensions, timestamp). 4xx other than 429 are the caller's
bug and are never retried: they raise :class:`IngestError` with the server's error list.

Locally: ``token=`` (``Authorization: Bearer``). On AWS the HTTP API needs SigV4: pass a
``signer`` that adds the signature headers to the ``urllib.request.Request`` (see docs/ingest.md).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

ENDPOINT_ENV = "CENTRAL_ANALYTICS_INGEST_URL"
DEFAULT_ENDPOINT = "http://127.0.0.1:8787/metrics"
MAX_BATCH = 100
MAX_BODY_BYTES = 262_144
BACKOFF_BASE = 0.2  # seconds; full jitter, doubled per attempt ...
BACKOFF_CAP = 5.0  # ... up to this
#: Called with the final request (all headers set) on every attempt; may return a new one.
Signer = Callable[[urllib.request.Request], urllib.request.Request | None]
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class IngestError(Exception):
    """The endpoint refused the metrics, or kept failing until the retries ran out.

    ``errors`` is the server's list (``{"index", "field", "message"}``, index relative to the
    batch sent); ``unsent`` the items never acknowledged; ``accepted`` how many were stored
    before giving up (earlier batches included).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        unsent: list[dict[str, Any]] | None = None,
        accepted: int = 0,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []
        self.unsent = unsent or []
        self.accepted = accepted


def _sleep(seconds: float) -> None:  # a seam for tests
    time.sleep(seconds)


def make_metric(
    application_id: str,
    metric_name: str,
    value: float,
    *,
    unit: str | None = None,
    dimensions: Mapping[str, str] | Iterable[Mapping[str, str]] | None = None,
    timestamp: datetime | int | str | None = None,
) -> dict[str, Any]:
    """The wire form of one metric. ``dimensions`` may be ``{"Plan": "pro"}``; ``timestamp`` a
    datetime (naive = UTC), epoch milliseconds or an ISO-8601 string; None means "now"."""
    return _normalise(
        {
            "applicationId": application_id,
            "metricName": metric_name,
            "value": value,
            "unit": unit,
            "dimensions": dimensions,
            "timestamp": timestamp,
        }
    )


def _normalise(metric: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in metric.items() if v is not None}
    dims = out.get("dimensions")
    if isinstance(dims, Mapping):
        out["dimensions"] = [{"name": str(k), "value": str(v)} for k, v in dims.items()]
    elif dims is not None:
        out["dimensions"] = [dict(d) for d in dims]
    ts = out.get("timestamp")
    if isinstance(ts, datetime):
        out["timestamp"] = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()
    return out


def record_metric(
    application_id: str,
    metric_name: str,
    value: float,
    *,
    unit: str | None = None,
    dimensions: Mapping[str, str] | Iterable[Mapping[str, str]] | None = None,
    timestamp: datetime | int | str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    timeout: float = 3.0,
    retries: int = 3,
    signer: Signer | None = None,
) -> int:
    """Send one metric; returns 1 once stored. Raises :class:`IngestError`."""
    one = make_metric(
        application_id, metric_name, value, unit=unit, dimensions=dimensions, timestamp=timestamp
    )
    return record_metrics(
        [one], endpoint=endpoint, token=token, timeout=timeout, retries=retries, signer=signer
    )


def record_metrics(
    metrics: Iterable[Mapping[str, Any]],
    *,
    endpoint: str | None = None,
    token: str | None = None,
    timeout: float = 3.0,
    retries: int = 3,
    signer: Signer | None = None,
) -> int:
    """Send metrics (wire-form dicts, see :func:`make_metric`) in batches of at most 100 and
    256 KB; returns how many were stored. Raises :class:`IngestError` on a 4xx (not 429) or
    when retries run out; ``accepted`` on the error counts what was stored before."""
    url = endpoint or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT
    accepted = 0
    for batch in _batches([_normalise(m) for m in metrics]):
        try:
            accepted += _send(url, batch, token, timeout, retries, signer)
        except IngestError as exc:
            exc.accepted += accepted
            raise
    return accepted


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = len(b'{"metrics":[]}')
    for item in items:
        item_size = len(json.dumps(item, separators=(",", ":")).encode()) + 1
        if batch and (len(batch) == MAX_BATCH or size + item_size > MAX_BODY_BYTES):
            yield batch
            batch, size = [], len(b'{"metrics":[]}')
        batch.append(item)
        size += item_size
    if batch:
        yield batch


def _send(
    url: str,
    batch: list[dict[str, Any]],
    token: str | None,
    timeout: float,
    retries: int,
    signer: Signer | None,
) -> int:
    pending, accepted = batch, 0
    status: int | None = None
    errors: list[dict[str, Any]] = []
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            _sleep(random.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))))
        try:
            status, answer = _post(url, {"metrics": pending}, token, timeout, signer)
        except (OSError, http.client.HTTPException) as exc:  # refused, timeout, reset, garbage
            status, errors, problem = None, [], f"cannot reach {url}: {exc}"
            continue
        listed = answer.get("errors")
        errors = listed if isinstance(listed, list) else []
        if 200 <= status < 300:
            return accepted + len(pending)
        if status == 503 and isinstance(answer.get("notWritten"), list):
            left = sorted({i for i in answer["notWritten"] if _index_in(i, pending)})
            if left:
                accepted += len(pending) - len(left)
                pending = [pending[i] for i in left]
        if status == 429 or status >= 500:
            problem = f"HTTP {status}"
            continue
        raise IngestError(
            f"ingest refused the batch (HTTP {status}): {_summary(errors)}",
            status=status,
            errors=errors,
            unsent=pending,
            accepted=accepted,
        )
    raise IngestError(
        f"gave up after {retries + 1} attempts ({problem}); {len(pending)} metrics not stored",
        status=status,
        errors=errors,
        unsent=pending,
        accepted=accepted,
    )


def _index_in(i: object, items: list[Any]) -> bool:
    return isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(items)


def _summary(errors: list[dict[str, Any]]) -> str:
    shown = [f"[{e.get('index')}] {e.get('field')}: {e.get('message')}" for e in errors[:5]]
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(shown) + more


def _post(
    url: str, payload: dict[str, Any], token: str | None, timeout: float, signer: Signer | None
) -> tuple[int, dict[str, Any]]:
    """POST JSON; returns (status, parsed JSON object or {}) for any HTTP status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, separators=(",", ":")).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if signer is not None:
        request = signer(request) or request
    # Never send loopback traffic through an HTTP(S)_PROXY from the environment.
    handlers = [urllib.request.ProxyHandler({})] if urlsplit(url).hostname in _LOOPBACK else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, _json_object(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _json_object(exc.read())


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
