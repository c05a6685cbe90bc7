"""One TTL cache shared by every session of the process.

Why not ``st.cache_data``: the data layer must not import streamlit, and we need three things
Streamlit's cache does not give: *single-flight* (50 sessions missing the same key make one
upstream call), *stale-on-error* (a failed refresh serves the last good value, marked stale with
its age, instead of a traceback) and *counters* (hits, misses, stale serves and AWS calls by API
name) that the pages show and the cost page prices.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cachetools import LRUCache

T = TypeVar("T")
#: Covariant: a ``Cached`` is frozen, so a ``Cached[DataFrame]`` is a ``Cached[object]``.
T_co = TypeVar("T_co", covariant=True)

#: Seconds a value stays fresh, by query kind. Cost Explorer is priced per request and
#: refreshed at most three times a day, so it is cached for hours.
DEFAULT_TTLS: dict[str, float] = {
    "metrics": 60.0,
    "realtime": 2.0,
    # custom metrics on the Realtime page: the ingest path's own data, cheap to read again, so
    # a point (or a new name) is on the page within about a second of its 202
    "live": 1.0,
    "custom_metrics": 5.0,
    "alarms": 60.0,
    "alarm_history": 300.0,
    "costs": 6 * 3600.0,
    "logs": 600.0,
    "discovery": 3600.0,
}
FALLBACK_TTL = 60.0


@dataclass(frozen=True)
class Cached(Generic[T_co]):
    """A cached value with its provenance, so pages can say "as of" and flag stale data."""

    value: T_co
    fetched_at: float
    stale: bool = False
    error: str | None = None

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.fetched_at)


class UpstreamError(RuntimeError):
    """The upstream call failed and no earlier value exists to fall back on."""


@dataclass
class _Entry:
    value: Any
    fetched_at: float
    expires_at: float


class QueryCache:
    """TTL cache with single-flight and stale-on-error.

    Entries outlive their TTL (up to ``maxsize`` by LRU) so an expired value can still be served
    when its refresh fails.
    """

    def __init__(self, ttls: dict[str, float] | None = None, maxsize: int = 4096,
                 clock: Callable[[], float] = time.time) -> None:
        self.ttls = dict(DEFAULT_TTLS if ttls is None else ttls)
        self._clock = clock
        self._entries: LRUCache[Hashable, _Entry] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self.stats: Counter[str] = Counter()
        self.aws_calls: Counter[str] = Counter()
        self.aws_units: Counter[str] = Counter()
        self.upstream_calls: Counter[str] = Counter()

    # -- counters --------------------------------------------------------------------------
    def count_aws_call(self, api: str, units: int = 1) -> None:
        """Called by the botocore event hook for every API call (``"cloudwatch.GetMetricData"``)."""
        with self._lock:
            self.aws_calls[api] += 1
            self.aws_units[api] += units

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "hits": self.stats["hits"], "misses": self.stats["misses"],
                "stale": self.stats["stale"], "errors": self.stats["errors"],
                "upstream_calls": dict(self.upstream_calls), "aws_calls": dict(self.aws_calls),
                "aws_units": dict(self.aws_units), "entries": len(self._entries),
            }

    def reset(self) -> None:
        """Drop every entry and counter (tests and benches)."""
        with self._lock:
            self._entries.clear()
            for c in (self.stats, self.aws_calls, self.aws_units, self.upstream_calls):
                c.clear()

    # -- lookups ---------------------------------------------------------------------------
    def _fresh(self, key: Hashable) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at > self._clock():
                return entry
            return None

    def get(self, kind: str, key: Hashable, loader: Callable[[], T],
            *, ttl: float | None = None) -> Cached[T]:
        """Return the cached value for ``(kind, key)``, loading it at most once at a time."""
        full_key = (kind, key)
        entry = self._fresh(full_key)
        if entry is not None:
            with self._lock:
                self.stats["hits"] += 1
            return Cached(entry.value, entry.fetched_at)
        with self._lock:
            flight = self._inflight.setdefault(full_key, threading.Lock())
        with flight:
            entry = self._fresh(full_key)  # another thread may have loaded it meanwhile
            if entry is not None:
                with self._lock:
                    self.stats["hits"] += 1
                return Cached(entry.value, entry.fetched_at)
            with self._lock:
                self.stats["misses"] += 1
                self.upstream_calls[kind] += 1
            try:
                value = loader()
            except Exception as exc:
                return self._fallback(kind, full_key, exc)
            now = self._clock()
            lifetime = self.ttls.get(kind, FALLBACK_TTL) if ttl is None else ttl
            with self._lock:
                self._entries[full_key] = _Entry(value, now, now + lifetime)
                self._inflight.pop(full_key, None)
            return Cached(value, now)

    def _fallback(self, kind: str, full_key: Hashable, exc: Exception) -> Cached[Any]:
        message = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.stats["errors"] += 1
            self._inflight.pop(full_key, None)
            old = self._entries.get(full_key)
            if old is not None:
                self.stats["stale"] += 1
                return Cached(old.value, old.fetched_at, stale=True, error=message)
        raise UpstreamError(f"{kind} query failed and no earlier value is cached: {message}") \
            from exc


_shared: QueryCache | None = None
_shared_lock = threading.Lock()


def shared_cache() -> QueryCache:
    """The process-wide cache every session reads through."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = QueryCache()
        return _shared
