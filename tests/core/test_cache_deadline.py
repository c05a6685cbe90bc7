"""The page deadline and the negative cache: a page view never waits past its deadline, and a
failed or late upstream is not waited for again for 30 s. Outside a deadline (CLIs, tests of
the data layer) the cache waits as it always did."""

from __future__ import annotations

import threading

import pytest

from analytics.core.cache import STILL_LOADING, QueryCache, StillLoading, UpstreamError


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def _in_thread(fn: object) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)  # type: ignore[arg-type]
    t.start()
    return t


def test_a_late_load_shows_the_last_value_and_lands_in_the_cache_when_it_arrives() -> None:
    # GIVEN a cached value that has expired, and an upstream that now hangs
    clock = Clock()
    cache = QueryCache(ttls={"metrics": 60}, clock=clock)
    cache.get("metrics", "k", lambda: "old")
    clock.t += 120
    release, finished = threading.Event(), threading.Event()

    def slow() -> str:
        release.wait()
        finished.set()
        return "new"

    # WHEN a page view with a short deadline asks for it
    with cache.deadline(0.05):
        late = cache.get("metrics", "k", slow)
    # THEN it gets the last good value at once, marked "still loading"
    assert late.value == "old" and late.stale and late.error.startswith(STILL_LOADING)
    assert cache.snapshot()["late"] == 1 and cache.snapshot()["down"] == ["metrics"]
    # AND when the load ends in the background, the next view gets it with no new call
    release.set()
    finished.wait(5)
    assert _until_cached(cache, "metrics", "k").value == "new"
    assert cache.snapshot()["upstream_calls"] == {"metrics": 2}


def _until_cached(cache: QueryCache, kind: str, key: str) -> object:
    for _ in range(500):
        got = cache.get(kind, key, lambda: pytest.fail("must not load again"))
        if not got.stale:
            return got
        threading.Event().wait(0.01)
    raise AssertionError("the background load never landed")


def test_nothing_cached_and_late_is_still_loading_not_an_error_page() -> None:
    cache = QueryCache()
    release = threading.Event()
    with cache.deadline(0.05), pytest.raises(StillLoading, match="still loading"):
        cache.get("costs", "k", lambda: release.wait(5))
    release.set()
    assert issubclass(StillLoading, UpstreamError)  # the page frame's one failure type


def test_a_kind_that_overran_is_not_waited_for_by_the_next_navigation() -> None:
    # GIVEN a metrics load that overran a page deadline (the endpoint hangs)
    cache = QueryCache(clock=Clock())
    hang = threading.Event()
    with cache.deadline(0.05), pytest.raises(StillLoading):
        cache.get("metrics", "page-1", lambda: hang.wait(30))
    # WHEN the next page view asks for *another* metrics key with a generous deadline
    outcome: list[object] = []

    def next_page() -> None:
        with cache.deadline(60), pytest.raises(StillLoading) as exc:
            cache.get("metrics", "page-2", lambda: hang.wait(30))
        outcome.append(exc.value)

    worker = _in_thread(next_page)
    worker.join(5)
    # THEN it did not wait the 60 s: the kind is remembered as slow
    assert not worker.is_alive() and outcome
    # AND other kinds are still waited for normally
    with cache.deadline(5):
        assert cache.get("alarms", "a", lambda: 7).value == 7
    hang.set()


def test_a_failed_key_is_not_called_again_for_30_seconds_by_page_views() -> None:
    # GIVEN a load that failed with nothing cached
    clock = Clock()
    cache = QueryCache(clock=clock)
    calls: list[int] = []

    def failing() -> int:
        calls.append(1)
        raise ConnectionError("read timed out")

    with cache.deadline(5), pytest.raises(UpstreamError, match="read timed out"):
        cache.get("alarms", "k", failing)
    # WHEN page views ask again within 30 s
    clock.t += 29
    with cache.deadline(5), pytest.raises(UpstreamError, match="29 s ago"):
        cache.get("alarms", "k", failing)
    # THEN upstream is not called again until the 30 s have passed
    assert len(calls) == 1
    clock.t += 2
    with cache.deadline(5):
        assert cache.get("alarms", "k", lambda: 3).value == 3


def test_without_a_deadline_every_load_is_waited_for_and_retried() -> None:
    clock = Clock()
    cache = QueryCache(clock=clock)
    with pytest.raises(UpstreamError):
        cache.get("alarms", "k", lambda: 1 / 0)
    assert cache.get("alarms", "k", lambda: 5).value == 5  # a CLI retries at once


def test_a_nested_deadline_never_extends_the_outer_one() -> None:
    cache = QueryCache()
    release = threading.Event()
    with cache.deadline(0.05), cache.deadline(60), pytest.raises(StillLoading):
        cache.get("logs", "k", lambda: release.wait(5))
    release.set()


def test_a_background_load_runs_as_the_page_that_started_it() -> None:
    # GIVEN a signed-in viewer of one app and a loader that checks who asks
    from analytics.core import access

    cache = QueryCache()
    access.set_principal(access.Principal("vera", "viewer", frozenset({"shop"})))
    try:
        # WHEN the load runs on the cache's background thread
        with cache.deadline(5):
            got = cache.get("metrics", "k", lambda: access.current_principal())
    finally:
        access.set_principal(None)
    # THEN it sees the page's principal, so access filtering holds in the background too
    assert got.value == access.Principal("vera", "viewer", frozenset({"shop"}))


def test_a_load_nested_in_a_background_load_is_waited_for() -> None:
    # GIVEN a loader that itself reads another (slow) cache entry, as services compose
    cache = QueryCache()
    inner_done = threading.Event()

    def inner() -> int:
        inner_done.wait(0.2)  # slower than the page deadline below
        return 2

    def outer() -> int:
        return cache.get("discovery", "names", inner).value * 10

    # WHEN a page with a short deadline starts it and the load finishes in the background
    with cache.deadline(0.01), pytest.raises(StillLoading):
        cache.get("realtime", "view", outer)
    # THEN the background load waited for its inner read instead of failing "still loading"
    assert _until_cached(cache, "realtime", "view").value == 20
