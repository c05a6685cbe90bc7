"""Sign-in budgets: password checks per key in a 15-minute window, reserved before bcrypt runs.

Counting failures *after* the check lets every request that arrives while the first ones are
still hashing through: 60 sessions sending at once got 60 checks. So an attempt first takes a
slot in every budget it belongs to, atomically (one lock here, one Lua script in a shared
store); a budget is full when its failures plus the attempts still in flight reach its limit,
and a failure that fills it locks the key for the whole window. The clock is injectable, so
tests step 15 minutes without waiting.

:class:`AttemptLimiter` is what the gate needs of any store; :class:`LoginThrottle` is the
in-process one (one per process, shared by every session and thread). Keys are opaque strings
(:mod:`analytics.auth.session` composes them from the username and the client address).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60.0
#: Bound on tracked keys, so a flood of random usernames cannot grow memory without limit.
MAX_TRACKED = 10_000
#: How long a (user, client) pair that signed in counts as a known device of that user.
KNOWN_SECONDS = 30 * 86_400.0


@dataclass(frozen=True)
class Budget:
    """One counter an attempt is charged to: at most ``limit`` failures + checks in flight."""

    key: str
    limit: int
    #: A successful sign-in clears the key's failures (the per-user counters); a per-client
    #: counter keeps them, or an attacker with one valid account could wipe his own record.
    reset_on_success: bool = True


@dataclass(frozen=True)
class Reservation:
    """Slots taken in every budget of one attempt; settle or release it exactly once."""

    id: int
    budgets: tuple[Budget, ...]


@dataclass(frozen=True)
class Refusal:
    """Why an attempt got no slot: the first full budget and how long until it frees."""

    key: str
    wait_s: float  # > 0: locked for this long; 0: full of checks still running
    in_flight: bool


class AttemptLimiter(Protocol):
    """What the sign-in needs of a budget store (in-process, or the shared cache tier's:
    :mod:`analytics.auth.shared_stores`).

    ``reserve`` is all-or-nothing across the budgets and must be atomic with respect to every
    other caller of the same store; ``settle`` turns the slot into a failure (which may lock
    the key) or a success; ``release`` gives the slot back unused (the check never ran).
    """

    lock_seconds: float

    def reserve(self, budgets: Sequence[Budget]) -> Reservation | Refusal: ...

    def settle(self, reservation: Reservation, *, failed: bool) -> tuple[str, ...]:
        """Returns the keys this failure locked (empty on success)."""
        ...

    def release(self, reservation: Reservation) -> None: ...

    def note_success(self, key: str) -> None:
        """Remember ``key`` (a user's known client) for :data:`KNOWN_SECONDS`."""
        ...

    def succeeded_recently(self, key: str) -> bool: ...


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    in_flight: set[int] = field(default_factory=set)


class LoginThrottle:
    """Thread-safe in-process :class:`AttemptLimiter` with a moving window and a timed lock.

    ``record_failure`` / ``locked_for`` / ``record_success`` are the one-key view of the same
    table (a username with the default limit), kept for callers that count without reserving.
    """

    def __init__(self, max_failures: int = MAX_FAILURES, lock_seconds: float = LOCK_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 max_tracked: int = MAX_TRACKED, known_seconds: float = KNOWN_SECONDS) -> None:
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self.clock = clock
        self.max_tracked = max_tracked
        self.known_seconds = known_seconds
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._known: OrderedDict[str, float] = OrderedDict()
        self._ids = itertools.count(1)

    @staticmethod
    def _key(key: str) -> str:
        return key.strip().lower()

    def _prune(self, rec: _Record, now: float) -> None:
        if rec.locked_until and rec.locked_until <= now:
            rec.locked_until = 0.0
            rec.failures.clear()
        rec.failures[:] = [t for t in rec.failures if now - t < self.lock_seconds]

    def _touch(self, key: str, now: float) -> _Record:
        """The record of ``key`` (created), moved to the end: the most recently used."""
        rec = self._records.pop(key, None) or _Record()
        self._records[key] = rec
        self._prune(rec, now)
        if len(self._records) > self.max_tracked:
            self._evict(now)
        return rec

    def _evict(self, now: float) -> None:
        """Drop the oldest idle key: a flood of fresh names must not free a locked one."""
        victim = next((k for k, r in self._records.items()
                       if r.locked_until <= now and not r.in_flight),
                      next(iter(self._records)))
        del self._records[victim]

    # -- the reservation API (AttemptLimiter) ----------------------------------------------
    def reserve(self, budgets: Sequence[Budget]) -> Reservation | Refusal:
        now = self.clock()
        with self._lock:
            recs = [(b, self._touch(self._key(b.key), now)) for b in budgets]
            for budget, rec in recs:
                if rec.locked_until > now:
                    return Refusal(budget.key, rec.locked_until - now, in_flight=False)
                if len(rec.failures) + len(rec.in_flight) >= budget.limit:
                    return Refusal(budget.key, 0.0, in_flight=True)
            rid = next(self._ids)
            for _, rec in recs:
                rec.in_flight.add(rid)
            return Reservation(rid, tuple(budgets))

    def settle(self, reservation: Reservation, *, failed: bool) -> tuple[str, ...]:
        now = self.clock()
        locked: list[str] = []
        with self._lock:
            for budget in reservation.budgets:
                key = self._key(budget.key)
                rec = self._records.get(key)
                if rec is None:  # evicted while in flight: start it again
                    rec = self._touch(key, now)
                rec.in_flight.discard(reservation.id)
                if not failed:
                    if budget.reset_on_success:
                        rec.failures.clear()
                    continue
                self._prune(rec, now)
                rec.failures.append(now)
                if len(rec.failures) >= budget.limit and not rec.locked_until:
                    rec.locked_until = now + self.lock_seconds
                    locked.append(budget.key)
        return tuple(locked)

    def release(self, reservation: Reservation) -> None:
        with self._lock:
            for budget in reservation.budgets:
                rec = self._records.get(self._key(budget.key))
                if rec is not None:
                    rec.in_flight.discard(reservation.id)

    def note_success(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._known.pop(self._key(key), None)
            self._known[self._key(key)] = now
            while len(self._known) > self.max_tracked:
                self._known.popitem(last=False)

    def succeeded_recently(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            at = self._known.get(self._key(key))
            return at is not None and now - at < self.known_seconds

    # -- the one-key view -------------------------------------------------------------------
    def locked_for(self, username: str) -> float:
        """Seconds until ``username`` may try again (0 when it is not locked)."""
        now = self.clock()
        with self._lock:
            rec = self._records.get(self._key(username))
            if rec is None:
                return 0.0
            self._prune(rec, now)
            return max(0.0, rec.locked_until - now)

    def record_failure(self, username: str) -> float:
        """Count one failure; returns the lock length in seconds if this one engaged it."""
        reservation = Reservation(0, (Budget(username, self.max_failures),))
        return self.lock_seconds if self.settle(reservation, failed=True) else 0.0

    def record_success(self, username: str) -> None:
        with self._lock:
            self._records.pop(self._key(username), None)

    def failures(self, username: str) -> int:
        now = self.clock()
        with self._lock:
            rec = self._records.get(self._key(username))
            if rec is None:
                return 0
            self._prune(rec, now)
            return len(rec.failures)

    def in_flight(self, key: str) -> int:
        """Checks of ``key`` running now (tests and the bench)."""
        with self._lock:
            rec = self._records.get(self._key(key))
            return 0 if rec is None else len(rec.in_flight)

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._known.clear()


def format_wait(seconds: float) -> str:
    """``14 min 59 s`` — what the login page shows while a name is locked."""
    total = max(1, int(seconds + 0.999))
    minutes, secs = divmod(total, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


#: The process-wide throttle the login gate uses.
THROTTLE = LoginThrottle()
