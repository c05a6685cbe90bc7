"""Live updates: committed datapoints fanned out to the ``metricUpdates`` subscribers.

Locally the group commit calls :meth:`UpdateHub.publish` from its thread with each committed
batch; every subscriber is an asyncio queue in the server's event loop, fed with
``call_soon_threadsafe`` so the committer never waits on a slow socket. A subscriber that falls
more than :data:`QUEUE_SIZE` updates behind loses the oldest (counted in ``dropped``), rather than
holding memory for a client that stopped reading. On AWS the same update shape is published by
the stream processor through AppSync's ``publishMetricUpdate`` mutation.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from analytics.api.errors import ApiError, Code
from analytics.api.inputs import aws_datetime, text
from analytics.core import access
from analytics.core.catalog import Catalog

QUEUE_SIZE = 1000
#: Every update of the metrics table is a custom metric: CloudWatch's service metrics have no
#: per-datapoint stream, so they are read (getRealtimeMetrics), not pushed.
STREAMED_TYPE = "CUSTOM"
#: Names one subscription may filter on (AppSync's ``in`` filter takes at most five values).
MAX_NAMES = 5


class Point(Protocol):
    """What an update is built from (``ingest.keys.MetricItem`` answers it)."""

    app: str
    metric_name: str
    unit: str | None
    ts_ms: int
    dimensions: tuple[tuple[str, str], ...]

    @property
    def value(self) -> Any: ...


def updates_from(items: Iterable[Point], *, committed_ms: int) -> list[dict[str, Any]]:
    """One ``MetricUpdate`` per (app, metric) of a committed batch, points in time order."""
    groups: dict[tuple[str, str], list[Point]] = {}
    for item in items:
        groups.setdefault((item.app, item.metric_name), []).append(item)
    out = []
    for (app, name), points in sorted(groups.items()):
        points.sort(key=lambda p: p.ts_ms)
        out.append({
            "applicationId": app, "metricType": STREAMED_TYPE, "metricName": name,
            "unit": next((p.unit for p in reversed(points) if p.unit), None),
            "points": [{"timestamp": aws_datetime(p.ts_ms / 1000), "value": float(p.value),
                        "dimensions": [{"name": n, "value": v} for n, v in p.dimensions]}
                       for p in points],
            "committedAt": aws_datetime(committed_ms / 1000),
        })
    return out


@dataclass(frozen=True)
class Interest:
    """What one subscription asked for (the subscription's arguments)."""

    app: str
    types: frozenset[str]
    names: frozenset[str] | None = None

    def wants(self, update: dict[str, Any]) -> bool:
        return (update["applicationId"] == self.app and update["metricType"] in self.types
                and (self.names is None or update["metricName"] in self.names))


@dataclass(eq=False)
class _Subscriber:
    interest: Interest
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    def offer(self, update: dict[str, Any]) -> None:
        """Runs in the loop: enqueue, dropping the oldest when full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(update)


class UpdateHub:
    """Subscribers by interest; thread-safe ``publish``, asyncio-side ``stream``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()
        self.published = 0

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, updates: Sequence[dict[str, Any]]) -> int:
        """Hand ``updates`` to every interested subscriber; returns the deliveries queued."""
        with self._lock:
            targets = list(self._subscribers)
            self.published += len(updates)
        queued = 0
        for sub in targets:
            for update in updates:
                if sub.interest.wants(update):
                    try:
                        sub.loop.call_soon_threadsafe(sub.offer, update)
                        queued += 1
                    except RuntimeError:  # its loop is closed: the server is stopping
                        self._remove(sub)
                        break
        return queued

    def publish_committed(self, items: Sequence[Point], *, committed_ms: int) -> int:
        """:meth:`publish` a committed batch, building updates only for the apps someone is
        subscribed to: a commit nobody watches costs nothing here (the committer's time is
        the endpoint's throughput)."""
        with self._lock:
            apps = {sub.interest.app for sub in self._subscribers}
        wanted = [item for item in items if item.app in apps]
        return self.publish(updates_from(wanted, committed_ms=committed_ms)) if wanted else 0

    def _remove(self, sub: _Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def stream(self, interest: Interest) -> AsyncIterator[dict[str, Any]]:
        """Updates matching ``interest`` from this call on (registered before it returns, so an
        update committed right after subscribing is not missed), until the consumer closes
        the iterator. Call it in the event loop that will consume it."""
        sub = _Subscriber(interest, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
        return self._drain(sub)

    async def _drain(self, sub: _Subscriber) -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                yield await sub.queue.get()
        finally:
            self._remove(sub)


def interest_of(catalog: Catalog, args: dict[str, Any]) -> Interest:
    """A ``metricUpdates`` subscription's arguments, checked: the app must be visible to the
    caller (bind the principal first) and at least one metric type named."""
    app_id = text(args, "applicationId")
    assert app_id is not None
    app = access.visible_app(catalog, app_id)
    types = frozenset(t for t in (args.get("metricTypes") or []) if t is not None)
    if STREAMED_TYPE not in types:
        raise ApiError(Code.BAD_ARGUMENT, f"metricTypes: only {STREAMED_TYPE} metrics are "
                       "pushed (service metrics have no per-datapoint stream; read them with "
                       "getRealtimeMetrics)")
    raw_names = args.get("metricNames")
    names = None if raw_names is None else frozenset(str(n) for n in raw_names)
    if names is not None and not 1 <= len(names) <= MAX_NAMES:
        raise ApiError(Code.BAD_ARGUMENT, f"metricNames: give 1 to {MAX_NAMES} names, or none "
                       "for every metric")
    return Interest(app.id, types, names)
