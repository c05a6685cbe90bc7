"""Helpers shared by the bench scripts: timing, a throwaway local runtime, AppTest runs."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime

ROOT = Path(__file__).resolve().parent.parent


def local_runtime(history_days: int = 14, data_dir: str | None = None) -> tuple[Runtime, float]:
    """A fresh local runtime with ``history_days`` of history; returns it and the fill time."""
    d = data_dir or tempfile.mkdtemp(prefix="bench-")
    t0 = time.perf_counter()
    rt = build_runtime(load_settings({
        "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": d, "SIMULATOR_LIVE": "false",
        "SIMULATOR_HISTORY_DAYS": str(history_days), "INGEST_ENABLED": "false",
    }, secrets={}), cache=QueryCache())
    return rt, time.perf_counter() - t0


def median_time(fn: Callable[[], object], runs: int = 5,
                before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@contextmanager
def moto_runtime() -> Iterator[Runtime]:
    """An aws-backend runtime on moto (us-east-1, empty account, fresh cache) for call counts."""
    import os

    from moto import mock_aws

    from analytics.core.catalog import load_catalog

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    with mock_aws():
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                 secrets={})
        cache = QueryCache()
        catalog = load_catalog(ROOT / "apps.toml")
        yield build_runtime(settings, cache=cache, catalog=catalog)
