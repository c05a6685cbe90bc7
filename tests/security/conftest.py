"""Fixtures for the security tests: a fake clock under the process-wide sign-in budgets, no
developer AUTH_* variables, and helpers to count bcrypt checks."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import bcrypt
import pytest

from analytics.auth import lockout
from tests.auth.conftest import FakeClock


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock()
    lockout.THROTTLE.reset()
    monkeypatch.setattr(lockout.THROTTLE, "clock", fake)
    yield fake
    lockout.THROTTLE.reset()


@pytest.fixture(autouse=True)
def _no_auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.startswith("AUTH_"):
            monkeypatch.delenv(k)


@dataclass
class CheckCounter:
    """Counts bcrypt.checkpw calls and the most that ran at once; ``gate`` holds them open."""

    calls: int = 0
    running: int = 0
    most_at_once: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def bcrypt_checks(monkeypatch: pytest.MonkeyPatch) -> CheckCounter:
    """bcrypt.checkpw wrapped: every check waits for ``gate`` (set by default) and is counted."""
    counter = CheckCounter()
    counter.gate.set()
    real = bcrypt.checkpw

    def checkpw(password: bytes, hashed: bytes) -> bool:
        with counter.lock:
            counter.calls += 1
            counter.running += 1
            counter.most_at_once = max(counter.most_at_once, counter.running)
        try:
            counter.gate.wait(timeout=30)
            return real(password, hashed)
        finally:
            with counter.lock:
                counter.running -= 1

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    return counter
