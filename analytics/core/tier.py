"""The shared cache tier (L2): one Valkey/Redis for every task of the dashboard.

Behind :class:`SharedTier`, so :class:`analytics.core.cache.QueryCache` keeps its in-process
cache (L1) in front and needs no server without ``ANALYTICS_CACHE_URL``. What every task shares
here: values with their "as of" time and expiry, a per-key load lock (``SET NX PX``, renewed
while its holder loads, so a holder that dies frees it within one lock period), the failures
and late kinds of the negative cache, and fleet-wide counters. A tier that is down or slow
never fails a page: each call has a short timeout, the first error logs one line and marks the
tier down for ``retry_s``, during which nobody waits for it; the next call after that tries it
again, so it reconnects by itself.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from analytics.core import codec
from analytics.core.fmt import one_line

log = logging.getLogger(__name__)
T = TypeVar("T")

#: What :meth:`SharedTier.lock` answers while another task holds the key's lock.
BUSY = "busy"
#: How long a value stays in the tier after it expires, to be served stale when a refresh fails.
STALE_KEEP_S = 24 * 3600.0
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end " \
           "return 0"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then " \
         "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


@dataclass(frozen=True)
class SharedValue:
    value: Any
    fetched_at: float
    expires_at: float


@dataclass(frozen=True)
class SharedNote:
    """A remembered failure (of a key) or lateness (of a kind) with its time and end."""

    at: float
    until: float
    message: str


@dataclass(frozen=True)
class Peek:
    """What the tier holds for one key (any part may be missing)."""

    value: SharedValue | None = None
    failure: SharedNote | None = None
    late: SharedNote | None = None


class Lease(Protocol):
    """A held load lock; ``release`` once the value (or failure) is written."""

    def release(self) -> None: ...


class SharedTier(Protocol):
    """What :class:`QueryCache` needs of a shared tier. Every method is bounded by the tier's
    timeout and answers "unavailable" (None / False) instead of raising."""

    @property
    def lock_s(self) -> float: ...

    def key(self, kind: str, key: Any) -> str | None:
        """The tier's name of a cache key (None: the key has no wire form, L1 only)."""
        ...

    def peek(self, kind: str, skey: str) -> Peek | None: ...

    def put(self, kind: str, skey: str, value: SharedValue) -> bool: ...

    def remember(self, kind: str, skey: str | None, note: SharedNote) -> None:
        """A failure of ``skey``, or (``skey`` None) a kind late for a page deadline."""
        ...

    def lock(self, kind: str, skey: str) -> Lease | str | None:
        """A lease; :data:`BUSY`: another task holds the lock; None: the tier is unavailable."""
        ...

    def drop(self, kind: str, skey: str | None) -> None:
        """Forget one key (or, ``skey`` None, every key of the kind)."""
        ...

    def count(self, counts: Mapping[str, int]) -> None: ...

    def fleet(self) -> dict[str, int] | None: ...

    def state(self) -> str:
        """``"up"`` or ``"down"`` (with why), for the footer and the doctor."""
        ...


class RedisTier:
    """:class:`SharedTier` on redis-py (Valkey, Redis, ElastiCache Serverless).

    ``namespace`` prefixes every key (the release and backend, so two versions never read each
    other's values). Keys of one cache entry share a hash tag, so cluster mode (ElastiCache
    Serverless) never splits them.
    """

    def __init__(self, client: Any, *, namespace: str, lock_s: float = 15.0,
                 retry_s: float = 5.0, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], float] = time.time, description: str = "") -> None:
        self.client = client
        self.namespace = namespace
        self._lock_s = lock_s
        self.retry_s = retry_s
        self.description = description
        self._monotonic = monotonic
        self._clock = clock
        self._retry_at = 0.0
        self._down_why: str | None = None
        self._guard = threading.Lock()
        self._fleet: tuple[float, dict[str, int]] | None = None

    @property
    def lock_s(self) -> float:
        return self._lock_s

    # -- health ------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], default: T) -> T:
        """Run one tier operation; an error marks the tier down (one log line) and answers
        ``default``; while down, nothing is tried until ``retry_s`` has passed."""
        with self._guard:
            if self._down_why is not None and self._monotonic() < self._retry_at:
                return default
        try:
            out = fn()
        except (redis.RedisError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}"
            with self._guard:
                first = self._down_why is None
                self._down_why = why
                self._retry_at = self._monotonic() + self.retry_s
            if first:
                log.warning("shared cache tier %s unavailable (%s); serving from this process "
                            "only, trying again every %.0f s", self.description, why,
                            self.retry_s)
            return default
        with self._guard:
            if self._down_why is not None:
                log.warning("shared cache tier %s reachable again", self.description)
                self._down_why = None
        return out

    def state(self) -> str:
        with self._guard:
            return "up" if self._down_why is None else f"down ({self._down_why})"

    def ping(self) -> bool:
        return self._call(lambda: bool(self.client.ping()), False)

    # -- names -------------------------------------------------------------------------------
    def key(self, kind: str, key: Any) -> str | None:
        try:
            text = codec.key_text(key)
        except codec.Unencodable:
            return None
        return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()[:40]

    def _k(self, part: str, kind: str, skey: str) -> str:
        return f"{self.namespace}:{part}:{{{kind}:{skey}}}"

    def _late_key(self, kind: str) -> str:
        return f"{self.namespace}:late:{{{kind}}}"

    # -- values, failures, lateness ------------------------------------------------------------
    def peek(self, kind: str, skey: str) -> Peek | None:
        def read() -> Peek:
            pipe = self.client.pipeline(transaction=False)
            pipe.get(self._k("v", kind, skey))
            pipe.get(self._k("f", kind, skey))
            pipe.get(self._late_key(kind))
            raw_value, raw_failure, raw_late = pipe.execute()
            return Peek(_value(raw_value), _note(raw_failure), _note(raw_late))
        return self._call(read, None)

    def put(self, kind: str, skey: str, value: SharedValue) -> bool:
        try:
            payload = codec.encode((value.fetched_at, value.expires_at, value.value))
        except codec.Unencodable as exc:
            log.debug("not shared (%s): %s", kind, exc)
            return False
        keep_ms = max(1, int((value.expires_at - value.fetched_at + STALE_KEEP_S) * 1000))

        def write() -> bool:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(self._k("v", kind, skey), payload, px=keep_ms)
            pipe.delete(self._k("f", kind, skey))
            pipe.delete(self._late_key(kind))
            pipe.execute()
            return True
        return self._call(write, False)

    def remember(self, kind: str, skey: str | None, note: SharedNote) -> None:
        name = self._late_key(kind) if skey is None else self._k("f", kind, skey)
        ms = max(1, int((note.until - note.at) * 1000))
        payload = codec.encode((note.at, note.until, note.message))
        self._call(lambda: self.client.set(name, payload, px=ms), None)

    def lock(self, kind: str, skey: str) -> Lease | str | None:
        name, token = self._k("l", kind, skey), uuid.uuid4().hex
        ms = max(1, int(self._lock_s * 1000))
        got = self._call(lambda: bool(self.client.set(name, token, nx=True, px=ms)), None)
        if got is None:
            return None
        return _RedisLease(self, name, token, ms) if got else BUSY

    def drop(self, kind: str, skey: str | None) -> None:
        if skey is not None:
            self._call(lambda: self.client.delete(self._k("v", kind, skey),
                                                  self._k("f", kind, skey)), None)
            return

        def scan() -> None:
            for part in ("v", "f"):
                for name in self.client.scan_iter(match=f"{self.namespace}:{part}:{{{kind}:*",
                                                  count=500):
                    self.client.delete(name)
        self._call(scan, None)

    # -- fleet counters ----------------------------------------------------------------------
    def count(self, counts: Mapping[str, int]) -> None:
        def incr() -> None:
            pipe = self.client.pipeline(transaction=False)
            for field, n in counts.items():
                pipe.hincrby(f"{self.namespace}:fleet", field, n)
            pipe.hsetnx(f"{self.namespace}:fleet", "since", int(self._clock()))
            pipe.execute()
        self._call(incr, None)

    def fleet(self, *, max_age_s: float = 2.0) -> dict[str, int] | None:
        """Every task's counters added up (read at most every ``max_age_s``)."""
        now = self._monotonic()
        with self._guard:
            if self._fleet is not None and now - self._fleet[0] < max_age_s:
                return dict(self._fleet[1])
        raw = self._call(lambda: self.client.hgetall(f"{self.namespace}:fleet"), None)
        if raw is None:
            return None
        out = {_text(k): int(v) for k, v in raw.items()}
        with self._guard:
            self._fleet = (now, out)
        return dict(out)


class _RedisLease:
    """The lock, renewed every third of its period by a daemon thread until released."""

    def __init__(self, tier: RedisTier, name: str, token: str, ms: int) -> None:
        self.tier, self.name, self.token, self.ms = tier, name, token, ms
        self._stop = threading.Event()
        threading.Thread(target=self._renew, name="cache-lease", daemon=True).start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ms / 3000):
            held = self.tier._call(lambda: self.tier.client.eval(
                _RENEW, 1, self.name, self.token, self.ms), 0)
            if not held:
                return

    def release(self) -> None:
        self._stop.set()
        self.tier._call(lambda: self.tier.client.eval(_RELEASE, 1, self.name, self.token), 0)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _value(raw: bytes | None) -> SharedValue | None:
    if raw is None:
        return None
    try:
        fetched_at, expires_at, value = codec.decode(raw)
        return SharedValue(value, float(fetched_at), float(expires_at))
    except (codec.Undecodable, TypeError, ValueError) as exc:
        log.warning("shared cache: an unreadable value was ignored (%s)", exc)
        return None


def _note(raw: bytes | None) -> SharedNote | None:
    if raw is None:
        return None
    try:
        at, until, message = codec.decode(raw)
        return SharedNote(float(at), float(until), str(message))
    except (codec.Undecodable, TypeError, ValueError):
        return None


def redis_client(url: str, *, timeout_s: float, connect_timeout_s: float, cluster: bool = False,
                 credential_provider: Any = None) -> Any:
    """A redis-py client that never retries on its own and never waits past its timeouts:
    the tier's down/retry logic decides when to try again."""
    options: dict[str, Any] = {
        "socket_timeout": timeout_s, "socket_connect_timeout": connect_timeout_s,
        "retry": Retry(NoBackoff(), 0), "health_check_interval": 30,
        "client_name": "central-analytics",
    }
    if credential_provider is not None:
        options["credential_provider"] = credential_provider
    if cluster:
        from redis.cluster import RedisCluster
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


class SharedFailed(Exception):
    """Another task's load of this key failed moments ago: answered without calling again."""

    def __init__(self, note: SharedNote) -> None:
        super().__init__(note.message)
        self.note = note


def load_shared(tier: SharedTier, kind: str, skey: str, loader: Callable[[], T], *,
                lifetime: float, negative_ttl: float, clock: Callable[[], float],
                sleep: Callable[[float], None], on_load: Callable[[], None],
                on_wait: Callable[[], None]) -> SharedValue:
    """One value for the whole fleet: load it under the key's lock, or wait for the task that
    holds the lock (polling with backoff) and take its value or its failure.

    Waits at most four lock periods (a live holder renews its lock; a dead one's lapses and the
    next waiter takes it); the tier going down makes the waiter load by itself. Runs in a load
    thread, so a page's own deadline never waits for any of this.
    """
    pause, waited, started = 0.02, 0.0, clock()
    lease = tier.lock(kind, skey)
    while lease == BUSY and waited < 4 * tier.lock_s:
        sleep(pause)
        waited += pause
        pause = min(pause * 2, 0.25)
        peek = tier.peek(kind, skey)
        if peek is None:
            lease = None
            break
        if peek.value is not None and peek.value.expires_at > clock():
            on_wait()
            return peek.value
        if peek.failure is not None and peek.failure.at >= started:
            raise SharedFailed(peek.failure)
        lease = tier.lock(kind, skey)
    try:
        on_load()
        try:
            value = loader()
        except Exception as exc:
            now = clock()
            tier.remember(kind, skey, SharedNote(now, now + negative_ttl,
                                                 one_line(f"{type(exc).__name__}: {exc}")))
            raise
        now = clock()
        shared = SharedValue(value, now, now + lifetime)
        tier.put(kind, skey, shared)
        return shared
    finally:
        if lease is not None and not isinstance(lease, str):
            lease.release()
