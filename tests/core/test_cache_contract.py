"""The cache suite against both levels: L1 only (no ANALYTICS_CACHE_URL) and L1 + a real
redis-server (L2). Each "task" is its own QueryCache (a dashboard process); what the fleet sees
differs only where the tier shares something, and each test says so in its expectation.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from analytics.core.cache import QueryCache, UpstreamError
from analytics.core.tier import RedisTier, redis_client
from tests.redis_server import RedisServer


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_tier(url: str, namespace: str, *, lock_s: float = 15.0, retry_s: float = 5.0,
              monotonic: Callable[[], float] = time.monotonic) -> RedisTier:
    return RedisTier(redis_client(url, timeout_s=0.5, connect_timeout_s=0.5),
                     namespace=namespace, lock_s=lock_s, retry_s=retry_s, monotonic=monotonic,
                     description=url)


@dataclass
class Fleet:
    """Dashboard tasks sharing one tier (``url``) or none (L1 only)."""

    url: str | None
    namespace: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:12]}")

    @property
    def shared(self) -> bool:
        return self.url is not None

    def task(self, **kwargs: Any) -> QueryCache:
        tier_opts = {k: kwargs.pop(k) for k in ("lock_s", "retry_s") if k in kwargs}
        tier = None if self.url is None else make_tier(self.url, self.namespace, **tier_opts)
        return QueryCache(tier=tier, **kwargs)


@pytest.fixture
def spawn(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A spawn context whose children import only what they run: AppTest (earlier in the
    suite) rebinds ``__main__`` to Home.py, which spawn would otherwise run in every child."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    return mp.get_context("spawn")


@pytest.fixture(params=["l1", "l1+l2"])
def fleet(request: pytest.FixtureRequest) -> Iterator[Fleet]:
    if request.param == "l1":
        yield Fleet(None)
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        yield Fleet(server.url)


# -- workers of the two-process tests (module level: spawned processes import them) -----------
def _single_flight_worker(url: str | None, namespace: str, calls: Any, start: Any,
                          out: Any, threads: int) -> None:
    cache = Fleet(url, namespace).task()

    def loader() -> int:
        with calls.get_lock():
            calls.value += 1
        time.sleep(0.5)  # slow upstream: every thread of both processes arrives meanwhile
        return 42

    barrier = threading.Barrier(threads)
    results: list[int] = []

    def worker() -> None:
        barrier.wait()
        results.append(cache.get("metrics", "k", loader).value)

    start.wait()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(results)


def _holder_worker(url: str | None, namespace: str, calls: Any, loading: Any) -> None:
    cache = Fleet(url, namespace).task(lock_s=0.5)

    def loader() -> int:
        with calls.get_lock():
            calls.value += 1
        loading.set()
        time.sleep(60)  # killed long before this ends
        return 1

    cache.get("metrics", "k", loader)


# -- the suite ---------------------------------------------------------------------------------
def test_single_flight_50_threads_in_2_processes(fleet: Fleet, spawn: Any) -> None:
    # GIVEN two dashboard processes of 25 threads each, missing the same key together
    ctx = spawn
    calls, start, out = ctx.Value("i", 0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_single_flight_worker,
                         args=(fleet.url, fleet.namespace, calls, start, out, 25))
             for _ in range(2)]
    for p in procs:
        p.start()
    # WHEN they all ask at once
    start.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    # THEN every thread gets the value and upstream is called once for the fleet (shared) or
    # once per process (L1 only)
    assert results == [[42] * 25, [42] * 25]
    assert calls.value == (1 if fleet.shared else 2)


def test_ttl_expiry_reloads_for_every_task(fleet: Fleet) -> None:
    # GIVEN a value loaded by task A at t=1000 with a 60 s TTL
    clock = Clock()
    a, b = fleet.task(ttls={"metrics": 60}, clock=clock), fleet.task(ttls={"metrics": 60},
                                                                     clock=clock)
    calls: list[str] = []

    def loader(who: str) -> Callable[[], str]:
        return lambda: calls.append(who) or f"from {who}"

    assert a.get("metrics", "k", loader("a")).value == "from a"
    # WHEN task B asks 59 s later, and again after the TTL
    clock.t += 59
    before_ttl = b.get("metrics", "k", loader("b"))
    clock.t += 2
    after_ttl = b.get("metrics", "k", loader("b"))
    # THEN within A's TTL B has A's value (shared; reloaded once it lapses) or loads its own
    # (L1 only; kept for its own TTL)
    assert before_ttl.value == ("from a" if fleet.shared else "from b")
    assert before_ttl.fetched_at == (1_000.0 if fleet.shared else 1_059.0)
    assert after_ttl.value == "from b"
    assert after_ttl.fetched_at == (1_061.0 if fleet.shared else 1_059.0)
    assert calls == ["a", "b"]
    # and A, whose value lapsed too, takes B's refresh (shared) or reloads (L1 only)
    assert a.get("metrics", "k", loader("a")).value == ("from b" if fleet.shared else "from a")
    assert calls == (["a", "b"] if fleet.shared else ["a", "b", "a"])


def test_stale_on_error_serves_the_fleets_last_good_value(fleet: Fleet) -> None:
    # GIVEN task A loaded "good" at t=1000, and the TTL has passed
    clock = Clock()
    a, b = fleet.task(ttls={"metrics": 10}, clock=clock), fleet.task(ttls={"metrics": 10},
                                                                     clock=clock)
    a.get("metrics", "k", lambda: "good")
    clock.t += 30

    def boom() -> str:
        raise ConnectionError("endpoint timed out")

    # WHEN a refresh fails on task A and on task B (which never loaded the key)
    on_a = a.get("metrics", "k", boom)
    # THEN A serves its value stale with its time and the error
    assert on_a.value == "good" and on_a.stale and on_a.fetched_at == 1_000.0
    assert "endpoint timed out" in (on_a.error or "")
    if fleet.shared:  # B serves the fleet's last good value the same way
        on_b = b.get("metrics", "k", boom)
        assert on_b.value == "good" and on_b.stale and on_b.fetched_at == 1_000.0
    else:  # B has nothing of its own to fall back on
        with pytest.raises(UpstreamError, match="no earlier value"):
            b.get("metrics", "k", boom)


def test_negative_cache_is_the_fleets_inside_a_page_deadline(fleet: Fleet) -> None:
    # GIVEN a key whose load failed on task A during a page view
    clock = Clock()
    a, b = fleet.task(clock=clock), fleet.task(clock=clock)
    calls: list[str] = []

    def boom() -> str:
        calls.append("call")
        raise ConnectionError("throttled")

    with a.deadline(5.0), pytest.raises(UpstreamError):
        a.get("metrics", "k", boom)
    # WHEN task B's page asks for it 5 s later
    clock.t += 5
    with b.deadline(5.0), pytest.raises(UpstreamError) as raised:
        b.get("metrics", "k", boom)
    # THEN with the tier B does not call again and says how long ago it failed
    if fleet.shared:
        assert calls == ["call"]
        assert "5 s ago" in str(raised.value) and "throttled" in str(raised.value)
    else:
        assert calls == ["call", "call"]


def test_lock_expires_when_its_holder_is_killed(fleet: Fleet, spawn: Any) -> None:
    # GIVEN a process that took the key's lock and died in the middle of its load
    ctx = spawn
    calls, loading = ctx.Value("i", 0), ctx.Event()
    holder = ctx.Process(target=_holder_worker, args=(fleet.url, fleet.namespace, calls, loading))
    holder.start()
    assert loading.wait(timeout=60)
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(timeout=10)
    # WHEN another task asks for the key
    other = fleet.task(lock_s=0.5)

    def loader() -> int:
        with calls.get_lock():
            calls.value += 1
        return 7

    got = other.get("metrics", "k", loader)
    # THEN it loads the value itself once the dead holder's lock lapsed
    assert got.value == 7 and not got.stale
    assert calls.value == 2


def test_tier_down_serves_from_l1_and_comes_back(fleet: Fleet, tmp_path: Any) -> None:
    # GIVEN a task whose tier (its own server here, to stop it) goes away after one load
    server = RedisServer().start() if fleet.shared else None
    mono = Clock(0.0)
    local_fleet = Fleet(server.url if server else None)
    task = local_fleet.task(retry_s=5.0) if server is None else QueryCache(
        tier=make_tier(server.url, local_fleet.namespace, retry_s=5.0, monotonic=mono))
    try:
        assert task.get("metrics", "a", lambda: "A").value == "A"
        if server is not None:
            server.stop()
        # WHEN pages keep asking while it is down
        got = task.get("metrics", "b", lambda: "B")
        again = task.get("metrics", "a", lambda: "A2")
        # THEN they are answered from this process, and the footer's snapshot says why
        assert got.value == "B" and again.value == "A"
        snap = task.snapshot()
        if server is None:
            assert "tier" not in snap
            return
        assert snap["tier"].startswith("down (")
        # WHEN it is back and the retry period has passed
        server.start()
        mono.t += 6
        task.get("metrics", "c", lambda: "C")
        # THEN it is used again: another task reads what this one wrote
        assert task.snapshot()["tier"] == "up"
        peer = QueryCache(tier=make_tier(server.url, local_fleet.namespace))
        assert peer.get("metrics", "c", lambda: "not shared").value == "C"
    finally:
        if server is not None:
            server.stop()


def test_fleet_counts_every_tasks_aws_calls(fleet: Fleet) -> None:
    # GIVEN two tasks that each made AWS calls
    a, b = fleet.task(), fleet.task()
    a.count_aws_call("ce.GetCostAndUsage")
    b.count_aws_call("ce.GetCostAndUsage")
    b.count_aws_call("cloudwatch.GetMetricData", units=3)
    # WHEN a footer reads the counters
    snap = a.snapshot()
    # THEN the process counts are its own, and the fleet's add every task up
    assert snap["aws_calls"] == {"ce.GetCostAndUsage": 1}
    if fleet.shared:
        assert snap["fleet"]["aws_calls|ce.GetCostAndUsage"] == 2
        assert snap["fleet"]["aws_units|cloudwatch.GetMetricData"] == 3
    else:
        assert "fleet" not in snap


def test_a_tier_that_never_answers_costs_one_timeout_then_nothing() -> None:
    # GIVEN a tier address that accepts connections and never answers (a hung node)
    import socket

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    url = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
    mono = Clock(0.0)
    tier = RedisTier(redis_client(url, timeout_s=0.2, connect_timeout_s=0.2),
                     namespace="hung", retry_s=5.0, monotonic=mono, description=url)
    cache = QueryCache(tier=tier)
    calls: list[str] = []
    try:
        # WHEN a page asks for two keys within its deadline
        with cache.deadline(5.0):
            first = cache.get("metrics", "a", lambda: calls.append("a") or "A")
            second = cache.get("metrics", "b", lambda: calls.append("b") or "B")
        # THEN both are answered by loading here; the tier is marked down after the first
        # timeout and not asked again within the retry period
        assert (first.value, second.value) == ("A", "B") and calls == ["a", "b"]
        assert cache.snapshot()["tier"].startswith("down (Timeout")
    finally:
        hung.close()
