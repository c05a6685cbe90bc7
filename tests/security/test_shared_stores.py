"""Sign-in budgets and the deny-list on a real redis-server, shared by several dashboard tasks.

The same sign-in scenarios as the in-process throttle's, run against both stores, plus what
only a shared store can do: two tasks spend one budget, and a sign-out on one is seen by the
other at once. A tier that goes away leaves sign-in working on the per-task fallback.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from analytics.auth.credentials import Credentials, User
from analytics.auth.lockout import AttemptLimiter, LoginThrottle
from analytics.auth.revocation import MemoryRevokedSessions
from analytics.auth.session import PER_CLIENT, PER_USER_CLIENT, sign_in
from analytics.auth.shared_stores import RedisAttemptLimiter, RedisRevokedSessions
from analytics.core.tier import redis_client
from tests.auth.conftest import FakeClock
from tests.helpers import quick_hash
from tests.redis_server import RedisServer
from tests.security.conftest import CheckCounter

PW = "the-right-password-42"
CREDS = Credentials({name: User(name, quick_hash(PW), role="admin", apps=None)
                     for name in ("admin", "alice")})

Limiter = Callable[[], AttemptLimiter]


@pytest.fixture(params=["in-process", "redis"])
def limiters(request: pytest.FixtureRequest, clock: FakeClock) -> Limiter:
    """Makes the limiter of one more task: separate in-process tables, or one shared tier."""
    if request.param == "in-process":
        return lambda: LoginThrottle(clock=clock)
    server: RedisServer = request.getfixturevalue("redis_server")
    namespace = f"sec-{uuid.uuid4().hex[:8]}"
    return lambda: RedisAttemptLimiter(
        client=redis_client(server.url, timeout_s=1.0, connect_timeout_s=1.0),
        namespace=namespace, fallback=LoginThrottle(clock=clock), clock=clock)


def _shared(limiters: Limiter) -> bool:
    return isinstance(limiters(), RedisAttemptLimiter)


def test_sixty_concurrent_wrong_passwords_run_five_checks(limiters: Limiter,
                                                          bcrypt_checks: CheckCounter) -> None:
    # GIVEN every bcrypt check held open until all 60 attempts have arrived
    throttle = limiters()
    bcrypt_checks.gate.clear()
    released = threading.Timer(0.5, bcrypt_checks.gate.set)
    released.start()
    results = []
    barrier = threading.Barrier(60)

    def attempt(i: int) -> None:
        barrier.wait()
        results.append(sign_in(CREDS, "admin", f"guess-{i}", throttle=throttle))

    # WHEN 60 sessions send a wrong password for admin at the same moment
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    released.join()
    # THEN exactly 5 passwords were checked and admin is locked, right password or not
    assert len(results) == 60 and not any(r.ok for r in results)
    assert bcrypt_checks.calls == PER_USER_CLIENT == 5
    assert sign_in(CREDS, "admin", PW, throttle=throttle).ok is False


def test_two_tasks_share_one_budget(limiters: Limiter) -> None:
    # GIVEN an attacker spreading guesses over two tasks behind the load balancer
    task_a, task_b = limiters(), limiters()
    for i in range(3):
        sign_in(CREDS, "admin", f"guess-{i}", client="203.0.113.9", throttle=task_a)
    for i in range(2):
        sign_in(CREDS, "admin", f"guess-b{i}", client="203.0.113.9", throttle=task_b)
    # WHEN the attacker tries the right password on either task
    on_a = sign_in(CREDS, "admin", PW, client="203.0.113.9", throttle=task_a)
    # THEN with a shared store 5 guesses in all locked it; in-process each task counts alone
    if _shared(limiters):
        assert on_a.ok is False and "15 min" in on_a.message
    else:
        assert on_a.ok is True


def test_the_lock_lasts_its_window_and_known_devices_stay_in(limiters: Limiter,
                                                            clock: FakeClock) -> None:
    # GIVEN admin signed in once from a laptop, then 5 wrong guesses from another address
    throttle = limiters()
    assert sign_in(CREDS, "admin", PW, client="198.51.100.7", throttle=throttle).ok
    for i in range(PER_USER_CLIENT):
        sign_in(CREDS, "admin", f"guess-{i}", client="203.0.113.1", throttle=throttle)
    # WHEN the attacker retries, now and 15 minutes later
    locked = sign_in(CREDS, "admin", PW, client="203.0.113.1", throttle=throttle)
    clock.advance(15 * 60)
    later = sign_in(CREDS, "admin", PW, client="203.0.113.1", throttle=throttle)
    # THEN locked first, free after the window; the laptop was never locked out
    assert locked.ok is False and locked.locked_for == pytest.approx(900.0)
    assert later.ok is True
    assert throttle.succeeded_recently("known:admin|client:198.51.100.7")


def test_one_address_cannot_spray_usernames(redis_server: RedisServer,
                                            clock: FakeClock) -> None:
    # GIVEN one address guessing one password per username over many names (the in-process
    # throttle's case is in test_lockout_concurrency)
    throttle = RedisAttemptLimiter(
        client=redis_client(redis_server.url, timeout_s=1.0, connect_timeout_s=1.0),
        namespace=f"spray-{uuid.uuid4().hex[:8]}", fallback=LoginThrottle(clock=clock),
        clock=clock)
    for i in range(PER_CLIENT):
        sign_in(CREDS, f"user-{i}", "Winter2026!", client="203.0.113.9", throttle=throttle)
    # WHEN it tries one more name, and alice signs in from elsewhere
    more = sign_in(CREDS, "alice", PW, client="203.0.113.9", throttle=throttle)
    # THEN the address is refused, and only the address
    assert more.ok is False and "from your network address" in more.message
    assert sign_in(CREDS, "alice", PW, client="198.51.100.7", throttle=throttle).ok


def test_a_tier_that_goes_away_leaves_per_task_budgets(clock: FakeClock) -> None:
    # GIVEN a task whose tier stops answering
    server = RedisServer().start()
    mono = FakeClock(0.0)
    throttle = RedisAttemptLimiter(
        client=redis_client(server.url, timeout_s=0.5, connect_timeout_s=0.5),
        namespace="down", fallback=LoginThrottle(clock=clock), clock=clock, monotonic=mono)
    server.stop()
    # WHEN 6 wrong guesses arrive, then the right password
    results = [sign_in(CREDS, "admin", f"guess-{i}", throttle=throttle) for i in range(6)]
    last = sign_in(CREDS, "admin", PW, throttle=throttle)
    # THEN sign-in still works and still locks, counted in this task
    assert not any(r.ok for r in results) and "locked" in results[4].message
    assert last.ok is False and "Too many failed sign-ins" in last.message


def test_a_sign_out_on_one_task_is_seen_by_every_task(redis_server: RedisServer,
                                                      tmp_path: Path) -> None:
    # GIVEN two tasks whose deny-lists share a tier, each writing through to a durable store
    clock = FakeClock(1_000.0)
    durable = MemoryRevokedSessions(clock=clock)
    namespace = f"rev-{uuid.uuid4().hex[:8]}"

    def task() -> RedisRevokedSessions:
        return RedisRevokedSessions(client=redis_server.client(), namespace=namespace,
                                    durable=durable, clock=clock)

    a, b = task(), task()
    # WHEN task A signs a session out until its cookie expires
    a.revoke("session-1", until=1_000.0 + 3600)
    # THEN task B sees it at once, the durable store has it, and the tier holds no raw id
    assert b.is_revoked("session-1") and not b.is_revoked("session-2")
    assert durable.is_revoked("session-1")
    assert not [k for k in redis_server.client().keys(f"{namespace}*") if b"session-1" in k]


def test_the_deny_list_reads_the_durable_store_while_the_tier_is_down() -> None:
    # GIVEN a deny-list whose tier is gone, with a sign-out in the durable store
    server = RedisServer().start()
    clock = FakeClock(1_000.0)
    durable = MemoryRevokedSessions(clock=clock)
    store = RedisRevokedSessions(
        client=redis_client(server.url, timeout_s=0.5, connect_timeout_s=0.5),
        namespace="down", durable=durable, clock=clock)
    server.stop()
    # WHEN a session is signed out and checked
    store.revoke("session-1", until=5_000.0)
    # THEN the durable store answers
    assert store.is_revoked("session-1") and not store.is_revoked("session-2")
