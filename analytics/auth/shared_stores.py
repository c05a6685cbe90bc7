"""Sign-in budgets and signed-out sessions on the shared cache tier, for every task at once.

With several tasks, in-process budgets give an attacker 5 guesses *per task*, and a sign-out
seen by one task is news to the others until their cache entry lapses. These two stores keep
both in Valkey/Redis. Budgets are reserved atomically by one Lua script over every budget of
the attempt (their keys share one hash tag, so a cluster keeps them on one shard); a slot whose
holder died frees itself after ``in_flight_s``. Keys are SHA-256 digests: the tier never holds
a username or an address in clear.

Neither store makes sign-in depend on the tier: budgets fall back to the in-process throttle
while it is unreachable (per-task limits, one log line), and the deny-list is written through
to the durable store (data-dir file or DynamoDB) and read from it while the tier is down.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis

from analytics.auth.lockout import (
    KNOWN_SECONDS,
    LOCK_SECONDS,
    AttemptLimiter,
    Budget,
    Refusal,
    Reservation,
)
from analytics.auth.revocation import RevokedSessions

log = logging.getLogger(__name__)

#: How long a reserved slot lives if its process dies before settling (bcrypt + the queue).
IN_FLIGHT_S = 60.0

_RESERVE = """
local now, window, ttl, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
for i = 1, n do
  local f, l, fl = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local locked = tonumber(redis.call('get', l) or '0')
  if locked > now then return {0, i, tostring(locked - now)} end
  if locked > 0 then redis.call('del', l, f) end
  redis.call('zremrangebyscore', f, '-inf', now - window)
  redis.call('zremrangebyscore', fl, '-inf', now)
  if redis.call('zcard', f) + redis.call('zcard', fl) >= tonumber(ARGV[4+i]) then
    return {0, i, '0'}
  end
end
local rid = redis.call('incr', KEYS[3*n+1])
for i = 1, n do
  redis.call('zadd', KEYS[3*i], now + ttl, rid)
  redis.call('pexpire', KEYS[3*i], math.ceil(ttl * 1000))
end
return {1, rid, '0'}
"""

_SETTLE = """
local now, window, lock, rid, failed, n = tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
local out = {}
for i = 1, n do
  local f, l, fl = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local limit, reset = tonumber(ARGV[5+2*i]), ARGV[6+2*i] == '1'
  redis.call('zrem', fl, rid)
  if not failed then
    if reset then redis.call('del', f) end
  else
    local locked = tonumber(redis.call('get', l) or '0')
    if locked > 0 and locked <= now then redis.call('del', l, f); locked = 0 end
    redis.call('zremrangebyscore', f, '-inf', now - window)
    redis.call('zadd', f, now, now .. ':' .. rid)
    redis.call('pexpire', f, math.ceil(window * 1000))
    if redis.call('zcard', f) >= limit and locked == 0 then
      redis.call('set', l, tostring(now + lock), 'PX', math.ceil(lock * 1000))
      table.insert(out, i)
    end
  end
end
return out
"""

_RELEASE = "for i = 1, #KEYS do redis.call('zrem', KEYS[i], ARGV[1]) end return 1"


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode("utf-8")).hexdigest()[:40]


class RedisAttemptLimiter:
    """:class:`AttemptLimiter` shared by every task; ``fallback`` answers while the tier is down
    (its reservations carry negative ids, so each is settled where it was made)."""

    def __init__(self, *, client: Any, namespace: str, fallback: AttemptLimiter,
                 lock_seconds: float = LOCK_SECONDS, known_seconds: float = KNOWN_SECONDS,
                 in_flight_s: float = IN_FLIGHT_S, clock: Callable[[], float] = time.time,
                 retry_s: float = 5.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.lock_seconds = lock_seconds
        self.known_seconds = known_seconds
        self.in_flight_s = in_flight_s
        self.clock = clock
        self.fallback = fallback
        self._tag = f"{namespace}:{{lockout}}"
        self._retry_s, self._monotonic = retry_s, monotonic
        self._down_until: float | None = None
        self._guard = threading.Lock()
        self._ids = itertools.count(1)
        self._local: dict[int, Reservation] = {}
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._release = client.register_script(_RELEASE)

    def _keys(self, budgets: Sequence[Budget]) -> list[str]:
        out = []
        for b in budgets:
            d = _digest(b.key)
            out += [f"{self._tag}:f:{d}", f"{self._tag}:l:{d}", f"{self._tag}:i:{d}"]
        return out

    def _up(self) -> bool:
        with self._guard:
            return self._down_until is None or self._monotonic() >= self._down_until

    def _down(self, exc: Exception) -> None:
        with self._guard:
            first = self._down_until is None
            self._down_until = self._monotonic() + self._retry_s
        if first:
            log.warning("sign-in budgets: the shared tier is unavailable (%s: %s); counting in "
                        "this task only until it is back", type(exc).__name__, exc)

    def _recovered(self) -> None:
        with self._guard:
            if self._down_until is not None:
                self._down_until = None
                log.warning("sign-in budgets: the shared tier is back")

    def reserve(self, budgets: Sequence[Budget]) -> Reservation | Refusal:
        if self._up():
            args = [self.clock(), self.lock_seconds, self.in_flight_s, len(budgets),
                    *(b.limit for b in budgets)]
            try:
                ok, at, wait = self._reserve(keys=[*self._keys(budgets), f"{self._tag}:ids"],
                                             args=args)
            except (redis.RedisError, OSError) as exc:
                self._down(exc)
            else:
                self._recovered()
                if int(ok):
                    return Reservation(int(at), tuple(budgets))
                wait_s = float(wait)
                return Refusal(budgets[int(at) - 1].key, wait_s, in_flight=wait_s == 0.0)
        got = self.fallback.reserve(budgets)
        if isinstance(got, Refusal):
            return got
        mine = Reservation(-next(self._ids), got.budgets)
        with self._guard:
            self._local[mine.id] = got
        return mine

    def _fallback_of(self, reservation: Reservation) -> Reservation | None:
        if reservation.id >= 0:
            return None
        with self._guard:
            return self._local.pop(reservation.id, None)

    def settle(self, reservation: Reservation, *, failed: bool) -> tuple[str, ...]:
        local = self._fallback_of(reservation)
        if local is not None:
            return self.fallback.settle(local, failed=failed)
        budgets = reservation.budgets
        args: list[Any] = [self.clock(), self.lock_seconds, self.lock_seconds, reservation.id,
                           "1" if failed else "0", len(budgets)]
        for b in budgets:
            args += [b.limit, "1" if b.reset_on_success else "0"]
        try:
            locked = self._settle(keys=self._keys(budgets), args=args)
        except (redis.RedisError, OSError) as exc:  # the slot frees itself after in_flight_s
            self._down(exc)
            return ()
        return tuple(budgets[int(i) - 1].key for i in locked)

    def release(self, reservation: Reservation) -> None:
        local = self._fallback_of(reservation)
        if local is not None:
            self.fallback.release(local)
            return
        keys = [k for k in self._keys(reservation.budgets) if ":i:" in k]
        try:
            self._release(keys=keys, args=[reservation.id])
        except (redis.RedisError, OSError) as exc:
            self._down(exc)

    def note_success(self, key: str) -> None:
        self.fallback.note_success(key)
        try:
            self.client.set(f"{self._tag}:k:{_digest(key)}", repr(self.clock()),
                            px=int(self.known_seconds * 1000))
        except (redis.RedisError, OSError) as exc:
            self._down(exc)

    def succeeded_recently(self, key: str) -> bool:
        if self._up():
            try:
                raw = self.client.get(f"{self._tag}:k:{_digest(key)}")
            except (redis.RedisError, OSError) as exc:
                self._down(exc)
            else:
                return raw is not None and self.clock() - float(raw) < self.known_seconds
        return self.fallback.succeeded_recently(key)


class RedisRevokedSessions:
    """The deny-list in the tier (a key per digest, expiring with the cookie), written through
    to ``durable`` and read from it while the tier cannot answer.

    A tier that lost its data (a node replaced without a replica) forgets the sign-outs it held
    until it is refilled by new ones; ``durable`` still has them, which is why it is kept.
    """

    def __init__(self, *, client: Any, namespace: str, durable: RevokedSessions,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.durable = durable
        self.clock = clock
        self._prefix = f"{namespace}:revoked:"

    def _key(self, sid: str) -> str:
        return self._prefix + hashlib.sha256(sid.encode("utf-8")).hexdigest()

    def revoke(self, sid: str, *, until: float) -> None:
        ms = int((until - self.clock()) * 1000)
        shared_error: Exception | None = None
        if ms > 0:
            try:
                self.client.set(self._key(sid), "1", px=ms)
            except (redis.RedisError, OSError) as exc:
                shared_error = exc
        self.durable.revoke(sid, until=until)
        if shared_error is not None:
            log.warning("revoked sessions: the shared tier is unavailable (%s); the sign-out "
                        "is kept in the durable store only", type(shared_error).__name__)

    def is_revoked(self, sid: str) -> bool:
        try:
            return bool(self.client.exists(self._key(sid)))
        except (redis.RedisError, OSError) as exc:
            log.warning("revoked sessions: the shared tier is unavailable (%s); asking the "
                        "durable store", type(exc).__name__)
            return self.durable.is_revoked(sid)
