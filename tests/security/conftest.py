"""Fixtures for the security tests: a fake clock under the process-wide sign-in budgets, no
developer AUTH_* variables, and helpers to count bcrypt checks."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from analytics.auth import lockout
from tests.auth.conftest import FakeClock
from tests.e2e.conftest import (  # noqa: F401 (the browser tests' fixtures, used by name)
    browser,
    chromium_path,
    server,
)


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


# -- a local ingest endpoint with per-app tokens -------------------------------------------------
@dataclass
class Endpoint:
    server: Any
    tokens: dict[str, str]  # app -> its token
    store: Any
    book: Any

    def rows(self, app: str) -> int:
        row = self.store.cursor().execute(
            "SELECT count(*) FROM custom_metrics WHERE app = ?", [app]).fetchone()
        return int(row[0])


def start_endpoint(data_dir: Path, catalog: Any | None = None, *,
                   clock: Callable[[], float] | None = None) -> Endpoint:
    """The local endpoint with its token book; it stamps points on ``clock`` (default: stopped
    at the suite's NOW)."""
    from analytics.core.catalog import load_catalog
    from analytics.local.custom_sink import DuckDBSink
    from analytics.local.ingest_server import IngestServer, build_local_resolver
    from analytics.local.ingest_tokens import token_book
    from analytics.local.store import LocalStore
    from tests.conftest import ROOT, frozen_clock

    catalog = catalog or load_catalog(ROOT / "apps.toml")
    store = LocalStore(data_dir / "analytics.duckdb")
    book = token_book(data_dir)
    tokens = book.ensure(catalog.ids())
    resolver = build_local_resolver(catalog, DuckDBSink(store), "", book=book,
                                    clock=clock or frozen_clock())
    http = IngestServer(resolver, "", port=0).start()
    return Endpoint(http, tokens, store, book)


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    ep = start_endpoint(tmp_path)
    yield ep
    ep.server.stop()
    ep.store.close()


def point(app: str = "jobseek", name: str = "Signups", **extra: Any) -> dict[str, Any]:
    """A valid wire-form metric stamped by the server (no client clock)."""
    return {"applicationId": app, "metricName": name, "value": 1, "unit": "Count", **extra}
