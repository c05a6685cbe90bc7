"""Sending metrics to ``POST /metrics``: batches, retries with backoff, the 503 resend.

Why it retries the way it does: the endpoint answers 202 only when every item is stored, and a
503 names the request indexes it did not store (``notWritten``). Resending exactly those keeps
the data complete without re-sending work; resending anything twice is harmless anyway because
the store is idempotent per (app, metric, dimensions, timestamp). 4xx other than 429 are the
caller's bug and are never retried: they raise :class:`IngestError` with the server's errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from central_analytics_client.errors import IngestError

MAX_BATCH = 100
MAX_BODY_BYTES = 262_144
BACKOFF_BASE = 0.2  # seconds; full jitter, doubled per attempt ...
BACKOFF_CAP = 5.0  # ... up to this
Dimensions = Mapping[str, str] | Iterable[Mapping[str, str]]


def make_metric(application_id: str, metric_name: str, value: float, *,
                unit: str | None = None, dimensions: Dimensions | None = None,
                timestamp: datetime | int | str | None = None) -> dict[str, Any]:
    """The wire form of one metric. ``dimensions`` may be ``{"Plan": "pro"}``; ``timestamp`` a
    datetime (naive = UTC), epoch milliseconds or an ISO-8601 string; None means "now"."""
    return normalise({"applicationId": application_id, "metricName": metric_name,
                      "value": value, "unit": unit, "dimensions": dimensions,
                      "timestamp": timestamp})


def normalise(metric: Mapping[str, Any]) -> dict[str, Any]:
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


def batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """At most :data:`MAX_BATCH` metrics and :data:`MAX_BODY_BYTES` per request."""
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


class Sender:
    """Posts batches with ``http`` (an httpx client); ``sleep`` and ``jitter`` are seams."""

    def __init__(self, http: httpx.Client, url: str, *, retries: int,
                 sleep: Callable[[float], None], jitter: Callable[[float, float], float],
                 prepare: Callable[[httpx.Request], httpx.Request] | None = None) -> None:
        self.http, self.url, self.retries = http, url, retries
        self.sleep, self.jitter, self.prepare = sleep, jitter, prepare

    def send_all(self, metrics: Iterable[Mapping[str, Any]]) -> int:
        accepted = 0
        for batch in batches([normalise(m) for m in metrics]):
            try:
                accepted += self.send(batch)
            except IngestError as exc:
                exc.accepted += accepted
                raise
        return accepted

    def _post(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = self.http.build_request(
            "POST", self.url, content=json.dumps(payload, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"})
        if self.prepare is not None:
            request = self.prepare(request)
        response = self.http.send(request)
        try:
            value = response.json() if response.content else {}
        except ValueError:
            value = {}
        return response.status_code, value if isinstance(value, dict) else {}

    def send(self, batch: list[dict[str, Any]]) -> int:
        pending, accepted = batch, 0
        status: int | None = None
        errors: list[dict[str, Any]] = []
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.jitter(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))))
            try:
                status, answer = self._post({"metrics": pending})
            except httpx.HTTPError as exc:  # refused, timeout, reset, garbage
                status, errors, problem = None, [], f"cannot reach {self.url}: {exc}"
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
            raise IngestError(f"ingest refused the batch (HTTP {status}): {_summary(errors)}",
                              status=status, errors=errors, unsent=pending, accepted=accepted)
        raise IngestError(f"gave up after {self.retries + 1} attempts ({problem}); "
                          f"{len(pending)} metrics not stored", status=status, errors=errors,
                          unsent=pending, accepted=accepted)


def _index_in(i: object, items: list[Any]) -> bool:
    return isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(items)


def _summary(errors: list[dict[str, Any]]) -> str:
    shown = [f"[{e.get('index')}] {e.get('field')}: {e.get('message')}" for e in errors[:5]]
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(shown) + more
