"""Sign-in budgets hold under concurrency: the slot is taken before bcrypt runs.

Before, the lock was checked, bcrypt ran, and the failure was counted afterwards: 60 sessions
sending at once got 60 checks, and the right password sent after 29 wrong ones signed in.
"""

from __future__ import annotations

import threading
import time

import pytest

from analytics.auth.client import client_address, parse_trusted_proxies
from analytics.auth.credentials import Credentials, User
from analytics.auth.lockout import LoginThrottle
from analytics.auth.session import PER_CLIENT, PER_USER, PER_USER_CLIENT, SignInResult, sign_in
from tests.auth.conftest import FakeClock
from tests.helpers import quick_hash
from tests.security.conftest import CheckCounter

PW = "the-right-password-42"
CREDS = Credentials({name: User(name, quick_hash(PW), role="admin", apps=None)
                     for name in ("admin", "alice", "bob")})


def _wait_until(predicate, *, timeout: float = 10.0) -> None:
    """Poll ``predicate`` (a condition on other threads, not on the clock) until it holds."""
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError("condition never held")


def _concurrently(n: int, attempt) -> list[SignInResult]:
    results: list[SignInResult | None] = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_sixty_concurrent_wrong_passwords_run_exactly_five_bcrypt_checks(
        bcrypt_checks: CheckCounter, clock: FakeClock) -> None:
    # GIVEN every bcrypt check held open until all 60 attempts have arrived
    throttle = LoginThrottle(clock=clock)
    bcrypt_checks.gate.clear()
    released = threading.Timer(0.5, bcrypt_checks.gate.set)
    released.start()
    # WHEN 60 sessions send a wrong password for admin at the same moment
    try:
        results = _concurrently(60, lambda i: sign_in(CREDS, "admin", f"guess-{i}",
                                                      throttle=throttle))
    finally:
        released.join()
    # THEN exactly 5 passwords were checked, none signed in, and admin is locked for this client
    assert bcrypt_checks.calls == PER_USER_CLIENT == 5
    assert not any(r.ok for r in results)
    assert sign_in(CREDS, "admin", PW, throttle=throttle).ok is False
    assert bcrypt_checks.calls == 5


def test_the_right_password_after_29_wrong_ones_in_flight_is_refused(
        bcrypt_checks: CheckCounter, clock: FakeClock) -> None:
    # GIVEN 29 wrong guesses sent at once, their checks still running
    throttle = LoginThrottle(clock=clock)
    bcrypt_checks.gate.clear()
    results: list[SignInResult] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        r = sign_in(CREDS, "admin", f"guess-{i}", throttle=throttle)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(29)]
    for t in threads:
        t.start()
    try:
        _wait_until(lambda: len(results) == 24
                    and throttle.in_flight("user:admin|client:unknown") == 5)
        # WHEN the right password arrives last, before those checks finish
        right = sign_in(CREDS, "admin", PW, throttle=throttle)
    finally:
        bcrypt_checks.gate.set()
        for t in threads:
            t.join(timeout=30)
    # THEN it is refused without a check of its own, and the 5 failures lock the name
    assert right.ok is False and "being checked" in right.message
    assert bcrypt_checks.calls == 5
    later = sign_in(CREDS, "admin", PW, throttle=throttle)
    assert later.ok is False and "Try again in 15 min 00 s" in later.message


def test_bcrypt_checks_never_run_on_more_slots_than_given(bcrypt_checks: CheckCounter,
                                                          clock: FakeClock) -> None:
    # GIVEN two check slots and 12 sign-ins from 12 clients for 3 users
    throttle = LoginThrottle(clock=clock)
    slots = threading.BoundedSemaphore(2)
    # WHEN they all arrive together
    results = _concurrently(12, lambda i: sign_in(
        CREDS, ("admin", "alice", "bob")[i % 3], PW, client=f"10.0.0.{i}", throttle=throttle,
        slots=slots))
    # THEN every one was checked and signed in, never more than two at once
    assert [r.ok for r in results] == [True] * 12
    assert bcrypt_checks.calls == 12 and bcrypt_checks.most_at_once <= 2


def test_a_busy_server_answers_busy_without_spending_the_budget(
        bcrypt_checks: CheckCounter, clock: FakeClock) -> None:
    # GIVEN no free check slot
    throttle = LoginThrottle(clock=clock)
    slots = threading.BoundedSemaphore(1)
    slots.acquire()
    # WHEN alice tries 6 times
    results = [sign_in(CREDS, "alice", "wrong-one", throttle=throttle, slots=slots,
                       queue_s=0.01) for _ in range(6)]
    slots.release()
    # THEN each is told the server is busy, nothing was checked, and her budget is intact
    assert all("busy" in r.message for r in results) and bcrypt_checks.calls == 0
    assert sign_in(CREDS, "alice", PW, throttle=throttle, slots=slots).ok


def test_failures_from_one_client_lock_that_client_not_the_user(clock: FakeClock) -> None:
    # GIVEN an attacker at 203.0.113.9 who used up admin's budget there
    throttle = LoginThrottle(clock=clock)
    for i in range(PER_USER_CLIENT):
        assert not sign_in(CREDS, "admin", f"guess-{i}", client="203.0.113.9",
                           throttle=throttle).ok
    # WHEN the attacker tries again, and the real admin signs in from another address
    attacker = sign_in(CREDS, "admin", PW, client="203.0.113.9", throttle=throttle)
    real = sign_in(CREDS, "admin", PW, client="198.51.100.7", throttle=throttle)
    # THEN the attacker is locked out, even with the right password, and the admin is in
    assert attacker.ok is False and "15 min" in attacker.message
    assert real.ok is True


def test_a_user_lock_needs_several_addresses_and_spares_known_devices(clock: FakeClock) -> None:
    # GIVEN admin signed in once from their laptop's address
    throttle = LoginThrottle(clock=clock)
    assert sign_in(CREDS, "admin", PW, client="198.51.100.7", throttle=throttle).ok
    # WHEN two attacker addresses each spend their 5 guesses
    for addr in ("203.0.113.1", "203.0.113.2"):
        for i in range(PER_USER_CLIENT):
            sign_in(CREDS, "admin", f"guess-{i}", client=addr, throttle=throttle)
    # THEN admin is locked for every new address, but not from the known laptop
    assert PER_USER == 2 * PER_USER_CLIENT
    fresh = sign_in(CREDS, "admin", PW, client="192.0.2.50", throttle=throttle)
    assert fresh.ok is False and "for this username" in fresh.message
    assert sign_in(CREDS, "admin", PW, client="198.51.100.7", throttle=throttle).ok
    # ... and 15 minutes later everyone may try again
    clock.advance(15 * 60)
    assert sign_in(CREDS, "admin", PW, client="192.0.2.50", throttle=throttle).ok


def test_one_address_cannot_spray_many_usernames(clock: FakeClock) -> None:
    # GIVEN one address guessing one password per username over many names
    throttle = LoginThrottle(clock=clock)
    for i in range(PER_CLIENT):
        sign_in(CREDS, f"user-{i}", "Winter2026!", client="203.0.113.9", throttle=throttle)
    # WHEN it tries one more name
    more = sign_in(CREDS, "alice", PW, client="203.0.113.9", throttle=throttle)
    # THEN the address is refused, and only the address
    assert more.ok is False and "from your network address" in more.message
    assert sign_in(CREDS, "alice", PW, client="198.51.100.7", throttle=throttle).ok


@pytest.mark.parametrize(("peer", "xff", "trusted", "client"), [
    ("203.0.113.9", "1.2.3.4", "", "203.0.113.9"),  # no trusted proxy: the header is ignored
    ("203.0.113.9", "1.2.3.4", "10.0.0.0/16", "203.0.113.9"),  # peer not a proxy: ignored
    ("10.0.3.4", "1.2.3.4", "10.0.0.0/16", "1.2.3.4"),  # the ALB's word
    ("10.0.3.4", "6.6.6.6, 1.2.3.4", "10.0.0.0/16", "1.2.3.4"),  # a forged left part: ignored
    ("10.0.3.4", "1.2.3.4, 10.0.9.9", "10.0.0.0/16", "1.2.3.4"),  # proxies are skipped
    ("10.0.3.4", "not-an-ip", "10.0.0.0/16", "10.0.3.4"),
    (None, None, "", "unknown"),
])
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
        peer: str | None, xff: str | None, trusted: str, client: str) -> None:
    assert client_address(peer, xff, trusted=parse_trusted_proxies(trusted)) == client
