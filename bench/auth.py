"""Access-control figures: what a password check costs, and what the gate adds to a page view.

Prints the bcrypt cost (the price of one sign-in attempt, and so the ceiling on guessing per
process: 5 tries per username per 15 minutes, each this slow), the server-side time of a
signed-out visit (the login form: no data, no upstream call) and of a sign-in that lands on
Overview (AppTest through Home.py, median of 5). ``python -m bench.auth``.
"""

from __future__ import annotations

import secrets
import statistics
import time

from analytics.auth import lockout
from analytics.auth.credentials import BCRYPT_ROUNDS, hash_password, verify_password
from analytics.sources import set_runtime
from bench.common import ROOT, local_runtime, median_time


def bcrypt_figures() -> None:
    pw = secrets.token_urlsafe(16)
    t0 = time.perf_counter()
    h = hash_password(pw)
    t_hash = time.perf_counter() - t0
    t_ok = median_time(lambda: verify_password(pw, h))
    t_unknown = median_time(lambda: verify_password(pw, None))
    print(f"bcrypt cost {BCRYPT_ROUNDS}: hash {t_hash * 1000:.0f} ms, verify {t_ok * 1000:.0f} ms,"
          f" unknown user {t_unknown * 1000:.0f} ms (same work: no user enumeration by timing)")
    print(f"  guessing ceiling: {lockout.MAX_FAILURES} failures per username and address per "
          f"{lockout.LOCK_SECONDS / 60:.0f} min, reserved before the check (every task's with "
          f"a shared cache tier; the user-wide limit: docs/security.md); one core verifies at "
          f"most {1 / t_ok:.1f} passwords/s")


def gate_figures() -> None:
    from streamlit.testing.v1 import AppTest

    from tests.helpers import app_secrets

    rt, _ = local_runtime(history_days=2)
    set_runtime(rt)
    password = secrets.token_urlsafe(16)
    table = app_secrets()  # cookie settings; the user gets a real cost-12 hash below
    table["credentials"] = {"usernames": {"bench": {
        "name": "Bench", "password": hash_password(password), "roles": ["admin"], "apps": ["*"]}}}

    def signed_out() -> AppTest:
        at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=120)
        at.secrets.update(table)
        at.switch_page("app_pages/costs.py")
        return at.run()

    def sign_in() -> None:
        at = signed_out()
        at.text_input(key="login_username").input("bench")
        at.text_input(key="login_password").input(password)
        at.button(key="FormSubmitter:Login-Login").click().run()
        assert at.session_state["_auth_principal"].username == "bench", at.error

    try:
        signed_out()  # import warm-up
        calls0 = sum(rt.cache.snapshot()["upstream_calls"].values())
        t_out = median_time(signed_out)
        calls = sum(rt.cache.snapshot()["upstream_calls"].values()) - calls0
        times = []
        for _ in range(5):
            rt.cache._entries.clear()
            lockout.THROTTLE.reset()
            t0 = time.perf_counter()
            sign_in()
            times.append(time.perf_counter() - t0 - t_out)
        print(f"signed-out visit of /costs (login form): {t_out * 1000:.0f} ms server-side, "
              f"{calls} upstream calls in 5 visits")
        print(f"sign-in to a deep link (bcrypt {BCRYPT_ROUNDS} + cold Costs page): "
              f"{statistics.median(times) * 1000:.0f} ms")
    finally:
        set_runtime(None)
        rt.stop()


def main() -> None:
    print("== access control ==")
    bcrypt_figures()
    gate_figures()


if __name__ == "__main__":
    main()
