"""Shared fixtures: a small local runtime (2 days of simulated history) and moto credentials.

No test reads the wall clock: every runtime built here runs on a frozen clock at :data:`NOW`
(the store's fill, the ingest endpoint, the cache, the pages' "now"), so a test gives the same
answer at any time of day, minute boundaries included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.core.cache import QueryCache
from analytics.core.clock import ManualClock
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime, set_runtime
from tests.redis_server import RedisServer, redis_required

ROOT = Path(__file__).resolve().parent.parent
#: The suite's "now": a Thursday afternoon, 20 s into a minute.
NOW = datetime(2026, 11, 26, 15, 37, 20, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def frozen_clock() -> ManualClock:
    """A clock stopped at :data:`NOW` (one per runtime: a test may move its own)."""
    return ManualClock(NOW)


def ticking_clock() -> Callable[[], float]:
    """A clock that starts at :data:`NOW` and moves with elapsed (monotonic) time: for a live
    thread that must see seconds pass, without the date or the minute depending on the run."""
    start = time.monotonic()
    return lambda: NOW.timestamp() + (time.monotonic() - start)


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real AWS account: fake credentials, and moto intercepts."""
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def local_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(data_dir),
        "SIMULATOR_LIVE": "false", "SIMULATOR_HISTORY_DAYS": "2", "INGEST_ENABLED": "false",
        "ANALYTICS_CATALOG": str(ROOT / "apps.toml"),
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def local_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-store")


@pytest.fixture(scope="session")
def local_runtime(local_data_dir: Path) -> Iterator[Runtime]:
    """One runtime on a 2-day simulated store, shared by the suite (built once: ~1 s)."""
    clock = frozen_clock()
    rt = build_runtime(load_settings(local_env(local_data_dir), secrets={}),
                       cache=QueryCache(clock=clock), clock=clock)
    yield rt
    rt.stop()


@pytest.fixture
def installed_runtime(local_runtime: Runtime) -> Iterator[Runtime]:
    """The local runtime installed as the process runtime (what pages get), cache emptied."""
    local_runtime.cache.reset()
    set_runtime(local_runtime)
    yield local_runtime
    set_runtime(None)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session (tests use their own key namespaces)."""
    try:
        server = RedisServer().start()
    except FileNotFoundError as exc:
        if redis_required():
            raise
        pytest.skip(str(exc))
    yield server
    server.stop()
