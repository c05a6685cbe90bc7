"""The in-process lockout: 5 failures lock a username for 15 minutes, shared by all sessions."""

from __future__ import annotations

import threading

import pytest

from analytics.auth.lockout import LoginThrottle, format_wait
from tests.auth.conftest import FakeClock


@pytest.fixture
def throttle(clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(max_failures=5, lock_seconds=900, clock=clock)


def test_fifth_failure_locks_for_the_window_and_it_expires(throttle: LoginThrottle,
                                                           clock: FakeClock) -> None:
    assert [throttle.record_failure("bob") for _ in range(4)] == [0, 0, 0, 0]
    assert throttle.locked_for("bob") == 0
    assert throttle.record_failure("BOB ") == 900  # same name, other case and spacing
    assert throttle.locked_for("bob") == 900
    clock.advance(899)
    assert throttle.locked_for("bob") == 1
    clock.advance(1)
    assert throttle.locked_for("bob") == 0
    assert throttle.failures("bob") == 0  # a fresh start after the lock


def test_failures_older_than_the_window_do_not_count(throttle: LoginThrottle,
                                                     clock: FakeClock) -> None:
    for _ in range(4):
        throttle.record_failure("carol")
    clock.advance(901)
    assert throttle.record_failure("carol") == 0
    assert throttle.failures("carol") == 1


def test_success_resets_and_names_are_independent(throttle: LoginThrottle) -> None:
    for _ in range(4):
        throttle.record_failure("dave")
        throttle.record_failure("erin")
    throttle.record_success("dave")
    assert throttle.failures("dave") == 0 and throttle.failures("erin") == 4


def test_a_flood_of_names_cannot_evict_a_locked_one(clock: FakeClock) -> None:
    t = LoginThrottle(max_failures=2, lock_seconds=900, clock=clock, max_tracked=10)
    t.record_failure("victim")
    t.record_failure("victim")
    for i in range(50):
        t.record_failure(f"random-{i}")
    assert t.locked_for("victim") == 900
    assert len(t._records) == 10


def test_concurrent_failures_are_all_counted_and_lock_once(clock: FakeClock) -> None:
    t = LoginThrottle(max_failures=40, lock_seconds=900, clock=clock)
    engaged: list[float] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5):
            engaged.append(t.record_failure("shared"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert engaged.count(900) == 1 and t.locked_for("shared") == 900


@pytest.mark.parametrize(("seconds", "text"), [(900, "15 min 00 s"), (840, "14 min 00 s"),
                                               (61.2, "1 min 02 s"), (59, "59 s"), (0.2, "1 s")])
def test_format_wait(seconds: float, text: str) -> None:
    assert format_wait(seconds) == text
