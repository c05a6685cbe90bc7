import threading
import time

import pytest

from analytics.core.cache import QueryCache, UpstreamError


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def test_single_flight_50_threads_one_upstream_call() -> None:
    cache = QueryCache()
    calls = 0
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def loader() -> int:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.2)  # slow upstream: every thread arrives while it is in flight
        return 42

    results: list[int] = []

    def worker() -> None:
        barrier.wait()
        results.append(cache.get("metrics", "k", loader).value)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == 1
    assert results == [42] * 50
    snap = cache.snapshot()
    assert snap["misses"] == 1 and snap["hits"] == 49 and snap["upstream_calls"] == {"metrics": 1}


def test_ttl_expiry_reloads() -> None:
    clock = Clock()
    cache = QueryCache(ttls={"metrics": 60}, clock=clock)
    values = iter([1, 2])
    assert cache.get("metrics", "k", lambda: next(values)).value == 1
    clock.t += 59
    assert cache.get("metrics", "k", lambda: next(values)).value == 1
    clock.t += 2
    assert cache.get("metrics", "k", lambda: next(values)).value == 2
    assert cache.snapshot()["misses"] == 2


def test_stale_on_error_serves_last_good_value_with_its_age() -> None:
    clock = Clock()
    cache = QueryCache(ttls={"metrics": 10}, clock=clock)
    cache.get("metrics", "k", lambda: "good")
    clock.t += 30

    def boom() -> str:
        raise ConnectionError("endpoint timed out")

    got = cache.get("metrics", "k", boom)
    assert got.value == "good" and got.stale
    assert got.fetched_at == 1_000.0
    assert "endpoint timed out" in (got.error or "")
    assert cache.snapshot()["stale"] == 1
    # the next successful refresh clears the stale flag
    fresh = cache.get("metrics", "k", lambda: "better")
    assert fresh.value == "better" and not fresh.stale


def test_error_without_earlier_value_raises_clear_error() -> None:
    cache = QueryCache()
    with pytest.raises(UpstreamError, match="no earlier value"):
        cache.get("costs", "k", lambda: 1 / 0)


def test_kinds_have_their_own_ttl() -> None:
    clock = Clock()
    cache = QueryCache(clock=clock)
    cache.get("costs", "k", lambda: 1)
    clock.t += 3600
    assert cache.get("costs", "k", lambda: 2).value == 1  # hours for Cost Explorer
    cache.get("realtime", "k", lambda: 1)
    clock.t += 3
    assert cache.get("realtime", "k", lambda: 2).value == 2  # seconds for realtime
