"""One TTL cache shared by every session of the process.

Why not ``st.cache_data``: the data layer must not import streamlit, and we need what Streamlit's
cache does not give: *single-flight* (50 sessions missing the same key make one upstream call),
*stale-on-error* (a failed refresh serves the last good value, marked stale with its age,
instead of a traceback), *counters* (hits, misses, stale serves, AWS calls and retries by API
name) that the pages show and the cost page prices, and two guards for page views. Inside
``cache.deadline(seconds)`` a load that is not back in time keeps running in the background
while the caller gets the last good value marked "still loading" (or :class:`StillLoading`);
and a key whose load failed, or a kind whose load overran a deadline, is not waited for again
for ``negative_ttl`` (30 s), so the next navigation is quick (a quick failure holds back only
its own key; only lateness makes a whole kind not waited for). Outside a deadline (CLIs, benches,
tests of the data layer) every load is waited for, as it always was.

With a shared tier (:mod:`analytics.core.tier`, ``ANALYTICS_CACHE_URL``) this cache is L1 in
front of it: a miss here reads the tier, one task per key loads (the others wait for its value
instead of calling AWS), and failures and lateness are remembered for the whole fleet. Without
one, everything above happens in this process only.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from cachetools import LRUCache

from analytics.core.cached import (
    DEFAULT_TTLS,
    FALLBACK_TTL,
    NEGATIVE_TTL,
    STILL_LOADING,
    Cached,
    StillLoading,
    UpstreamError,
)
from analytics.core.fmt import one_line
from analytics.core.tier import SharedFailed, SharedNote, SharedTier, load_shared

T = TypeVar("T")

#: The running page view's deadline (``time.monotonic()`` seconds), None outside a page view.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("page_deadline",
                                                                        default=None)


@dataclass
class _Entry:
    value: Any
    fetched_at: float
    expires_at: float


@dataclass(frozen=True)
class _Failure:
    at: float
    until: float
    message: str


class _Flight:
    """One load in progress; its waiters block on ``done``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.fetched_at = 0.0
        self.error: BaseException | None = None


class QueryCache:
    """TTL cache with single-flight, stale-on-error, a page deadline and a negative cache.

    Entries outlive their TTL (up to ``maxsize`` by LRU) so an expired value can still be served
    when its refresh fails or is late.
    """

    def __init__(self, ttls: dict[str, float] | None = None, maxsize: int = 4096,
                 clock: Callable[[], float] = time.time, *, negative_ttl: float = NEGATIVE_TTL,
                 monotonic: Callable[[], float] = time.monotonic,
                 tier: SharedTier | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.ttls = dict(DEFAULT_TTLS if ttls is None else ttls)
        self.negative_ttl = negative_ttl
        self._clock = clock
        self._monotonic = monotonic
        self._entries: LRUCache[Hashable, _Entry] = LRUCache(maxsize=maxsize)
        self._failed: LRUCache[Hashable, _Failure] = LRUCache(maxsize=maxsize)
        self._down: dict[str, _Failure] = {}
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, _Flight] = {}
        self.stats: Counter[str] = Counter()
        self.aws_calls: Counter[str] = Counter()
        self.aws_units: Counter[str] = Counter()
        self.aws_retries: Counter[str] = Counter()
        self.aws_retry_units: Counter[str] = Counter()
        self.upstream_calls: Counter[str] = Counter()
        self.tier = tier
        self._sleep = sleep
        #: Kinds kept in this process only: answers about this task itself.
        self.local_kinds: frozenset[str] = frozenset({"doctor"})

    # -- counters --------------------------------------------------------------------------
    def count_aws_call(self, api: str, units: int = 1) -> None:
        """Called by the botocore event hook for every API call (``"cloudwatch.GetMetricData"``)."""
        with self._lock:
            self.aws_calls[api] += 1
            self.aws_units[api] += units
        if self.tier is not None:
            self.tier.count({f"aws_calls|{api}": 1, f"aws_units|{api}": units})

    def count_aws_retry(self, api: str, units: int = 1) -> None:
        """Called by the botocore event hook for every attempt after a call's first."""
        with self._lock:
            self.aws_retries[api] += 1
            self.aws_retry_units[api] += units
        if self.tier is not None:
            self.tier.count({f"aws_retries|{api}": 1, f"aws_retry_units|{api}": units})

    def snapshot(self) -> dict[str, Any]:
        snap = self._snapshot()
        if self.tier is not None:  # outside the lock: the tier is a network call
            snap.update(tier=self.tier.state(), l2_hits=self.stats["l2_hits"],
                        l2_misses=self.stats["l2_misses"], l2_waits=self.stats["l2_waits"],
                        fleet=self.tier.fleet())
        return snap

    def _snapshot(self) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            return {
                "hits": self.stats["hits"], "misses": self.stats["misses"],
                "stale": self.stats["stale"], "errors": self.stats["errors"],
                "late": self.stats["late"],
                "upstream_calls": dict(self.upstream_calls), "aws_calls": dict(self.aws_calls),
                "aws_units": dict(self.aws_units), "aws_retries": dict(self.aws_retries),
                "aws_retry_units": dict(self.aws_retry_units), "entries": len(self._entries),
                "down": sorted(k for k, f in self._down.items() if f.until > now),
            }

    def reset(self) -> None:
        """Drop every entry, remembered failure and counter (tests and benches)."""
        with self._lock:
            self._entries.clear()
            self._failed.clear()
            self._down.clear()
            for c in (self.stats, self.aws_calls, self.aws_units, self.aws_retries,
                      self.aws_retry_units, self.upstream_calls):
                c.clear()

    def invalidate(self, kind: str) -> int:
        """Drop every entry of one kind (after a write that makes them out of date)."""
        with self._lock:
            keys = [k for k in self._entries if isinstance(k, tuple) and k[:1] == (kind,)]
            for k in keys:
                del self._entries[k]
                self._failed.pop(k, None)
        if self.tier is not None:
            self.tier.drop(kind, None)
        return len(keys)

    def forget(self, kind: str, key: Hashable) -> None:
        """Drop one entry (and its remembered failure), so the next get loads it again."""
        with self._lock:
            self._entries.pop((kind, key), None)
            self._failed.pop((kind, key), None)
        skey = self._shared_key(kind, key)
        if skey is not None and self.tier is not None:
            self.tier.drop(kind, skey)

    # -- the page deadline -----------------------------------------------------------------
    @contextmanager
    def deadline(self, seconds: float | None) -> Iterator[None]:
        """Within this block no :meth:`get` waits past ``seconds`` from now (None: no limit).

        A nested block never extends an outer one.
        """
        if seconds is None:
            yield
            return
        until = self._monotonic() + seconds
        outer = _deadline.get()
        token = _deadline.set(until if outer is None else min(outer, until))
        try:
            yield
        finally:
            _deadline.reset(token)

    # -- lookups ---------------------------------------------------------------------------
    def get(self, kind: str, key: Hashable, loader: Callable[[], T],
            *, ttl: float | None = None) -> Cached[T]:
        """Return the cached value for ``(kind, key)``, loading it at most once at a time.

        Inside :meth:`deadline`: a load is started in the background and waited for only
        until the deadline (not at all if the kind overran a deadline in the last
        ``negative_ttl`` s), and a key that failed in the last ``negative_ttl`` s is not
        loaded again; either way the last good value is served marked stale, or
        :class:`UpstreamError` (:class:`StillLoading` when late) is raised.
        """
        full_key = (kind, key)
        until = _deadline.get()
        with self._lock:
            entry = self._entries.get(full_key)
            if entry is not None and entry.expires_at > self._clock():
                self.stats["hits"] += 1
                return Cached(entry.value, entry.fetched_at)
            flight = self._inflight.get(full_key)
            starter = flight is None
            if flight is None:
                failure = self._failed.get(full_key)
                if until is not None and failure is not None and failure.until > self._clock():
                    return self._remembered(kind, full_key, failure)
                flight = self._inflight[full_key] = _Flight()
                self.stats["misses"] += 1
                if self.tier is None:
                    self.upstream_calls[kind] += 1
        if starter and self.tier is not None:
            shared = self._peek(kind, key, full_key, flight, bounded=until is not None)
            if shared is not None:
                return shared
        if starter and until is None:
            self._load(kind, full_key, loader, ttl, flight)
        elif starter:
            run = contextvars.copy_context().run  # the loader sees the caller's principal
            threading.Thread(target=run, args=(self._load_unbounded, kind, full_key, loader,
                                               ttl, flight),
                             name=f"cache-load-{kind}", daemon=True).start()
        if until is None:
            flight.done.wait()
        elif not flight.done.wait(0.0 if self._is_down(kind)
                                  else max(0.0, until - self._monotonic())):
            return self._late(kind, full_key)
        if flight.error is not None:
            return self._fallback(kind, full_key, flight.error)
        if not starter:
            with self._lock:
                self.stats["hits"] += 1
        return Cached(flight.value, flight.fetched_at)

    def _load_unbounded(self, kind: str, full_key: Hashable, loader: Callable[[], Any],
                        ttl: float | None, flight: _Flight) -> None:
        """A background load: nobody waits past the deadline for it, so the gets nested in
        its loader wait for what they need instead of failing "still loading"."""
        _deadline.set(None)  # in the thread's copy of the caller's context only
        self._load(kind, full_key, loader, ttl, flight)

    def _load(self, kind: str, full_key: Hashable, loader: Callable[[], Any],
              ttl: float | None, flight: _Flight) -> None:
        """Run one load to its end, whoever still waits for it, and publish the outcome."""
        try:
            entry = self._fetch(kind, full_key, loader, ttl)
        except BaseException as exc:
            ours = not isinstance(exc, SharedFailed)  # another task's failure: not ours to count
            now = self._clock()
            failure = (_Failure(exc.note.at, exc.note.until, exc.note.message)
                       if isinstance(exc, SharedFailed)
                       else _Failure(now, now + self.negative_ttl, _message(exc)))
            with self._lock:
                self.stats["errors"] += ours
                self._failed[full_key] = failure  # a quick failure: only this key waits 30 s
                self._inflight.pop(full_key, None)
            flight.error = exc
            flight.done.set()
            if not isinstance(exc, Exception):
                raise
            return
        with self._lock:
            self._entries[full_key] = entry
            self._failed.pop(full_key, None)
            self._down.pop(kind, None)
            self._inflight.pop(full_key, None)
        flight.value, flight.fetched_at = entry.value, entry.fetched_at
        flight.done.set()

    # -- the shared tier (L2) ----------------------------------------------------------------
    def _shared_key(self, kind: str, key: Hashable) -> str | None:
        if self.tier is None or kind in self.local_kinds:
            return None
        return self.tier.key(kind, key)

    def _peek(self, kind: str, key: Hashable, full_key: Hashable, flight: _Flight, *,
              bounded: bool) -> Cached[Any] | None:
        """L1 missed: read the tier. A fresh value there ends the flight (no load); an old one
        is kept for stale serving; a fleet-wide failure or lateness is remembered here too.
        Returns the answer when the flight ended, None when a load must run."""
        skey = self._shared_key(kind, key)
        peek = None if self.tier is None or skey is None else self.tier.peek(kind, skey)
        if peek is None:
            return None
        now, v, failure, late = self._clock(), peek.value, peek.failure, peek.late
        with self._lock:
            if late is not None and late.until > now and (
                    kind not in self._down or self._down[kind].until <= now):
                self._down[kind] = _Failure(late.at, late.until, late.message)
            old = self._entries.get(full_key)
            if v is not None and (old is None or old.fetched_at < v.fetched_at):
                self._entries[full_key] = _Entry(v.value, v.fetched_at, v.expires_at)
            if v is not None and v.expires_at > now:
                self.stats["l2_hits"] += 1
                self._inflight.pop(full_key, None)
                flight.value, flight.fetched_at = v.value, v.fetched_at
                flight.done.set()
                return Cached(v.value, v.fetched_at)
            self.stats["l2_misses"] += 1
            if not (bounded and failure is not None and failure.until > now):
                return None
            remembered = self._failed[full_key] = _Failure(failure.at, failure.until,
                                                           failure.message)
            self._inflight.pop(full_key, None)
            flight.error = SharedFailed(failure)
            flight.done.set()
            return self._remembered(kind, full_key, remembered)

    def _fetch(self, kind: str, full_key: Hashable, loader: Callable[[], Any],
               ttl: float | None) -> _Entry:
        """The value of one miss: loaded here, or (with a tier) by whichever task holds the
        key's lock, waited for by polling with backoff (never past 4 lock periods)."""
        lifetime = self.ttls.get(kind, FALLBACK_TTL) if ttl is None else ttl
        key = full_key[1] if isinstance(full_key, tuple) else full_key
        skey = self._shared_key(kind, key)
        if self.tier is None or skey is None:
            if self.tier is not None:
                self._count_upstream(kind)
            value = loader()
            now = self._clock()
            return _Entry(value, now, now + lifetime)
        got = load_shared(
            self.tier, kind, skey, loader, lifetime=lifetime, negative_ttl=self.negative_ttl,
            clock=self._clock, sleep=self._sleep, on_load=lambda: self._count_upstream(kind),
            on_wait=lambda: self._bump("l2_waits"))
        return _Entry(got.value, got.fetched_at, got.expires_at)

    def _bump(self, stat: str) -> None:
        with self._lock:
            self.stats[stat] += 1

    def _count_upstream(self, kind: str) -> None:
        with self._lock:
            self.upstream_calls[kind] += 1
        if self.tier is not None:
            self.tier.count({f"upstream|{kind}": 1})

    def _is_down(self, kind: str) -> bool:
        with self._lock:
            down = self._down.get(kind)
            return down is not None and down.until > self._clock()

    def _late(self, kind: str, full_key: Hashable) -> Cached[Any]:
        """The deadline passed with the load still running: remember it, serve what we have."""
        now = self._clock()
        message = (f"{STILL_LOADING}: the {kind} query did not answer within this page's "
                   "deadline; it goes on in the background and shows on the next refresh")
        with self._lock:
            self.stats["late"] += 1
            first = kind not in self._down or self._down[kind].until <= now
            if first:
                self._down[kind] = _Failure(now, now + self.negative_ttl, message)
            old = self._entries.get(full_key)
        if first and self.tier is not None:  # every task stops waiting for this kind
            self.tier.remember(kind, None, SharedNote(now, now + self.negative_ttl, message))
        if old is not None:
            with self._lock:
                self.stats["stale"] += 1
            return Cached(old.value, old.fetched_at, stale=True, error=message)
        raise StillLoading(f"{kind} data is {message}")

    def _remembered(self, kind: str, full_key: Hashable, failure: _Failure) -> Cached[Any]:
        """A recent failure of this key, served without calling upstream again (lock held)."""
        ago = max(0.0, self._clock() - failure.at)
        message = (f"{failure.message} ({ago:.0f} s ago; tried again "
                   f"{self.negative_ttl:.0f} s after the failure)")
        old = self._entries.get(full_key)
        if old is not None:
            self.stats["stale"] += 1
            return Cached(old.value, old.fetched_at, stale=True, error=message)
        raise UpstreamError(f"{kind} query failed and no earlier value is cached: {message}")

    def _fallback(self, kind: str, full_key: Hashable, exc: BaseException) -> Cached[Any]:
        message = _message(exc)
        with self._lock:
            old = self._entries.get(full_key)
            if old is not None:
                self.stats["stale"] += 1
                return Cached(old.value, old.fetched_at, stale=True, error=message)
        raise UpstreamError(f"{kind} query failed and no earlier value is cached: {message}") \
            from exc


def _message(exc: BaseException) -> str:
    if isinstance(exc, SharedFailed):
        return exc.note.message
    return one_line(f"{type(exc).__name__}: {exc}")
