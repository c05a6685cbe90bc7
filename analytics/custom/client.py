"""Recording metrics from Python: a thin use of the SDK (``clients/python``) with a stdlib API.

The retry rules live in the SDK (:mod:`central_analytics_client.ingest`): batches of 100 and
256 KB, 5xx/429 and connection failures retried with full-jitter backoff, the 503
``notWritten`` indexes resent, other 4xx raised with the server's errors. This module keeps the
function-style API the feeder, benches and scripts use; new code can use
``central_analytics_client.Client`` directly.

Locally: ``token=`` (``Authorization: Bearer``). On AWS the HTTP API needs SigV4: pass a
``signer`` that adds the signature headers to a ``urllib.request.Request`` (see docs/ingest.md),
or use the SDK's ``Client(..., aws_region=...)``.
"""

from __future__ import annotations

import functools
import os
import random
import ssl
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from central_analytics_client.errors import IngestError
from central_analytics_client.ingest import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_BATCH,
    Sender,
    make_metric,
)

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "DEFAULT_ENDPOINT", "ENDPOINT_ENV", "MAX_BATCH",
           "IngestError", "make_metric", "record_metric", "record_metrics"]

ENDPOINT_ENV = "CENTRAL_ANALYTICS_INGEST_URL"
DEFAULT_ENDPOINT = "http://127.0.0.1:8787/metrics"
#: Called with the final request (all headers set) on every attempt; may return a new one.
Signer = Callable[[urllib.request.Request], urllib.request.Request | None]
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _sleep(seconds: float) -> None:  # a seam for tests
    time.sleep(seconds)


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context, built once: loading the CA bundle costs ~20 ms, which a
    new client per call (the feeder's every tick) would otherwise pay each time."""
    return httpx.create_ssl_context()


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
    one = make_metric(application_id, metric_name, value, unit=unit, dimensions=dimensions,
                      timestamp=timestamp)
    return record_metrics([one], endpoint=endpoint, token=token, timeout=timeout,
                          retries=retries, signer=signer)


def _signed(signer: Signer, request: httpx.Request) -> httpx.Request:
    """Let a urllib-style ``signer`` sign the httpx request (its headers are copied back)."""
    legacy = urllib.request.Request(str(request.url), data=request.content,
                                    method=request.method, headers=dict(request.headers))
    legacy = signer(legacy) or legacy
    for name, value in legacy.header_items():
        request.headers[name.title()] = value  # as urllib sends them
    return request


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

    def prepare(request: httpx.Request) -> httpx.Request:
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        return _signed(signer, request) if signer is not None else request

    # Never send loopback traffic through an HTTP(S)_PROXY from the environment.
    with httpx.Client(timeout=timeout, trust_env=urlsplit(url).hostname not in _LOOPBACK,
                      verify=_tls()) as http:
        sender = Sender(http, url, retries=retries, sleep=lambda s: _sleep(s),
                        jitter=lambda low, high: random.uniform(low, high), prepare=prepare)
        return sender.send_all(metrics)
