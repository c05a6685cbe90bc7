"""Failed sign-ins per username: 5 failures lock the name for 15 minutes.

streamlit-authenticator's ``max_login_attempts`` locks forever and lives in the credentials dict
of one session's authenticator, so a page reload (a new session) resets it. This counter is
module-level — one per process, shared by every session and thread — so reloading the page does
not reset it, and the lock expires by itself. Keys are lower-cased usernames; unknown names are
counted too, so the answer never reveals whether an account exists. The clock is injectable so
tests can step 15 minutes without waiting.

Scaled out (several containers), each process keeps its own counter: an attacker spread over N
tasks gets N x 5 tries per 15 minutes — still bcrypt-slow, and documented in docs/auth.md.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60.0
#: Bound on tracked names, so a flood of random usernames cannot grow memory without limit.
MAX_TRACKED = 10_000


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle:
    """Thread-safe failure counter with a sliding window and a timed lock."""

    def __init__(self, max_failures: int = MAX_FAILURES, lock_seconds: float = LOCK_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 max_tracked: int = MAX_TRACKED) -> None:
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self.clock = clock
        self.max_tracked = max_tracked
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().lower()

    def _prune(self, rec: _Record, now: float) -> None:
        if rec.locked_until and rec.locked_until <= now:
            rec.locked_until = 0.0
            rec.failures.clear()
        rec.failures[:] = [t for t in rec.failures if now - t < self.lock_seconds]

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
        key = self._key(username)
        now = self.clock()
        with self._lock:
            rec = self._records.pop(key, None) or _Record()
            self._records[key] = rec  # most recent last, for eviction
            self._prune(rec, now)
            rec.failures.append(now)
            engaged = 0.0
            if len(rec.failures) >= self.max_failures and not rec.locked_until:
                rec.locked_until = now + self.lock_seconds
                engaged = self.lock_seconds
            if len(self._records) > self.max_tracked:
                self._evict(now)
            return engaged

    def _evict(self, now: float) -> None:
        """Drop the oldest unlocked name — a flood of fresh names must not free a locked one."""
        victim = next((k for k, r in self._records.items() if r.locked_until <= now),
                      next(iter(self._records)))
        del self._records[victim]

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

    def reset(self) -> None:
        with self._lock:
            self._records.clear()


def format_wait(seconds: float) -> str:
    """``14 min 59 s`` — what the login page shows while a name is locked."""
    total = max(1, int(seconds + 0.999))
    minutes, secs = divmod(total, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


#: The process-wide throttle the login gate uses.
THROTTLE = LoginThrottle()
