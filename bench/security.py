"""Security figures: guesses sent vs bcrypt checks run, the revocation cases, and Realtime under
a cardinality flood. ``python -m bench.security``.

1. 60 threads send a wrong password for one user at once (cost-12 bcrypt, as deployed): from
   one address, then from 60 addresses; the sign-in budgets are reserved before bcrypt runs.
2. A cookie copied before sign-out, ``users passwd``, ``users remove`` and an apps change,
   replayed in a new session (AppTest through Home.py): signed in or the login form.
3. jobseek's Realtime page after 4,000 distinct dimension sets and 300 new metric names (stored
   directly, as if sent before the caps): server-side time of one refresh, charts, lines and
   plotly JSON drawn, with the caps and without them (what every refresh did before).
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from analytics.auth.credentials import Credentials, User, hash_password
from analytics.auth.lockout import LoginThrottle
from analytics.auth.session import sign_in
from bench.common import ROOT


def guess_figures() -> None:
    import bcrypt

    password = secrets.token_urlsafe(16)
    creds = Credentials({"admin": User("admin", hash_password(password), role="admin",
                                       apps=None)})
    checks = [0]
    lock = threading.Lock()
    real = bcrypt.checkpw

    def counting(pw: bytes, hashed: bytes) -> bool:
        with lock:
            checks[0] += 1
        return real(pw, hashed)

    bcrypt.checkpw = counting  # type: ignore[assignment]  # a bench-only counter around bcrypt
    try:
        for label, client_of in (("one address", lambda i: "203.0.113.9"),
                                 ("60 addresses", lambda i: f"203.0.113.{i}")):
            checks[0] = 0
            throttle = LoginThrottle()
            barrier = threading.Barrier(60)
            results: list[bool] = []

            def attempt(i: int, throttle: LoginThrottle = throttle,
                        client_of: Any = client_of, barrier: threading.Barrier = barrier,
                        results: list[bool] = results) -> None:
                barrier.wait()
                results.append(sign_in(creds, "admin", f"guess-{i}", client=client_of(i),
                                       throttle=throttle).ok)

            t0 = time.perf_counter()
            threads = [threading.Thread(target=attempt, args=(i,)) for i in range(60)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            checked = checks[0]
            real_user = sign_in(creds, "admin", password, client="198.51.100.7",
                                throttle=throttle)
            print(f"60 concurrent wrong passwords for admin from {label}: {checked} bcrypt "
                  f"checks, {sum(results)} signed in, {wall:.2f} s; the real admin from a new "
                  f"address afterwards: {'signed in' if real_user.ok else 'refused'}")
    finally:
        bcrypt.checkpw = real  # type: ignore[assignment]


def revocation_figures() -> None:
    from streamlit.testing.v1 import AppTest

    from analytics.sources import set_runtime
    from analytics.ui import sessions as ui_sessions
    from bench.common import local_runtime
    from tests.helpers import app_secrets

    rt, _ = local_runtime(history_days=1)
    set_runtime(rt)
    pw = "bench-" + secrets.token_urlsafe(12)
    users = {"bob": (pw, "viewer", ["jobseek"]), "alice": (pw + "x", "admin", None)}
    request: dict[str, Any] = {"cookies": {}}
    real_request = ui_sessions.request
    ui_sessions.request = lambda: (dict(request["cookies"]), {}, None)  # what the browser sends

    def session(table: dict[str, Any]) -> AppTest:
        at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
        at.secrets.update(app_secrets(table))
        return at

    def signed_in_cookie() -> tuple[AppTest, str]:
        request["cookies"] = {}
        at = session(users).run()
        at.text_input(key="login_username").input("bob")
        at.text_input(key="login_password").input(pw)
        at.button(key="FormSubmitter:Login-Login").click().run()
        return at, str(at.session_state["_auth_cookie_value"])

    def replay(value: str, table: dict[str, Any]) -> str:
        request["cookies"] = {"ca_test": value}
        at = session(table).run()
        p = at.session_state["_auth_principal"]
        return f"signed in as {p.username}" if p.username else "login form"

    try:
        at, value = signed_in_cookie()
        print(f"  cookie replayed in a new session, nothing changed: {replay(value, users)}")
        at.button(key="auth_sign_out").click().run()
        print(f"  cookie copied before sign-out:  {replay(value, users)}")
        for case, table in (
                ("users passwd bob", {**users, "bob": ("new-" + pw, "viewer", ["jobseek"])}),
                ("users remove bob", {"alice": users["alice"]}),
                ("bob's apps changed", {**users, "bob": (pw, "viewer", ["jobseek",
                                                                       "ilikeyacut"])})):
            _, value = signed_in_cookie()
            print(f"  cookie copied before {case}: {replay(value, table)}")
    finally:
        ui_sessions.request = real_request
        set_runtime(None)
        rt.stop()


def flood_figures() -> None:
    from analytics.core.cache import QueryCache
    from analytics.core.catalog import load_catalog
    from analytics.core.settings import load_settings
    from analytics.figures.realtime import panel_figure
    from analytics.local.custom_sink import DuckDBSink, items_frame
    from analytics.local.store import LocalStore
    from analytics.realtime.service import realtime_view
    from analytics.sources import Runtime, local_sources
    from ingest.keys import build_item

    d = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    store = LocalStore(d / "analytics.duckdb")
    now_ms = int(time.time() * 1000)
    items = [build_item(app="jobseek", metric_name="Signups", value=1.0, unit="Count",
                        dimensions=[("Visitor", f"v{i}")], ts_ms=now_ms - 1000 * (i % 600),
                        received_at_ms=now_ms, retention_days=90) for i in range(4_000)]
    items += [build_item(app="jobseek", metric_name=f"Flood{i:03d}", value=1.0, unit="Count",
                         dimensions=[], ts_ms=now_ms - 5_000, received_at_ms=now_ms,
                         retention_days=90) for i in range(300)]
    DuckDBSink(store).write_frame(items_frame(items))
    catalog = load_catalog(ROOT / "apps.toml")
    settings = load_settings({"ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(d)},
                             secrets={})
    for label, caps in (("with the caps", {}),
                        ("without them (before)", {"max_charts": 10_000,
                                                   "max_series": 10_000})):
        times, drawn = [], None
        for _ in range(3):
            rt = Runtime(settings, catalog, local_sources(store=store), QueryCache())
            t0 = time.perf_counter()
            view = realtime_view(rt, "jobseek", **caps)
            figs = [panel_figure(p, view) for p in view.service + view.custom if not p.empty]
            payload = sum(len(f.to_json()) for f in figs)
            times.append(time.perf_counter() - t0)
            drawn = (len(view.custom), sum(len(p.lines) for p in view.custom), payload)
        assert drawn is not None
        print(f"Realtime jobseek after 4,000 dimension sets + 300 names, {label}: "
              f"{statistics.median(times) * 1000:,.0f} ms per cold refresh (median of 3), "
              f"{drawn[0]} custom charts, {drawn[1]:,} lines, {drawn[2] / 1e6:.2f} MB of "
              "plotly JSON")
    page_figure(Runtime(settings, catalog, local_sources(store=store), QueryCache()))
    store.close()


def page_figure(rt: Any) -> None:
    """The whole Realtime page (Home.py, signed in, the fragment's first draw) on the flood."""
    from analytics.sources import set_runtime
    from tests.helpers import signed_in_app

    set_runtime(rt)
    try:
        times, charts = [], 0
        for _ in range(3):
            rt.cache.reset()
            at = signed_in_app("app_pages/realtime.py", query={"app": "jobseek", "every": "off"},
                               timeout=120)
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
            charts = len(at.get("plotly_chart"))
        print(f"  the Realtime page itself (AppTest through Home.py, cold cache): "
              f"{statistics.median(times) * 1000:,.0f} ms server-side (median of 3), "
              f"{charts} charts")
    finally:
        set_runtime(None)


def main() -> None:
    print("== security ==")
    guess_figures()
    print("revocation (a copied cookie replayed in a new session):")
    revocation_figures()
    flood_figures()


if __name__ == "__main__":
    main()
