"""What a signed-in viewer waits for, measured in Debian's chromium (``python -m bench.browser``).

Starts the dashboard as ``make run`` does (``python -m analytics.ui.serve``: the runtime first,
the simulator live), signs in through the login form and prints, per page: the time from a
sidebar click until the page's content is visible (the run is over, nothing is stale, every
chart has drawn), the same for a time-range change, and the bytes a page view costs (the HTML
of a fresh load and the websocket frames of a switch). Then the first view after a start with
a 10-app catalog, on a fresh store and after a restart, and the store fill per app-day.
Server-side timers (AppTest) miss the browser's share: the figure JSON it parses and draws.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.browser_js import READY_JS, RUNS_JS, WS_HOOK_JS
from bench.common import ROOT, bench_catalog

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
USER = "bench"
TIMEOUT_MS = 120_000
#: Pages in sidebar order: (navigation label, title prefix, URL path).
PAGES = [("Overview", "Overview", ""), ("Performance", "Performance", "performance"),
         ("Realtime", "Realtime", "realtime"), ("Alarms", "Alarms", "alarms"),
         ("Costs", "Costs", "costs")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    password: str
    started: float  # perf_counter at launch
    healthy_after_s: float = 0.0

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def start_server(data_dir: Path, *, catalog: Path | None = None, live: bool = True,
                 password: str | None = None, cookie_key: str | None = None,
                 extra: dict[str, str] | None = None) -> Server:
    """``python -m analytics.ui.serve`` on free ports with one admin user; waits until healthy."""
    import yaml

    from analytics.auth.credentials import hash_password

    password = password or secrets.token_urlsafe(16)
    users = {"usernames": {USER: {"name": "Bench", "password": hash_password(password),
                                  "roles": ["admin"], "apps": ["*"]}}}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTH_"))}
    env.update({
        "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(data_dir),
        "SIMULATOR_LIVE": "true" if live else "false", "INGEST_PORT": str(_free_port()),
        "AUTH_CREDENTIALS_YAML": yaml.safe_dump(users),
        "AUTH_COOKIE_KEY": cookie_key or secrets.token_urlsafe(48),
        "AUTH_COOKIE_NAME": "ca_bench",
    })
    if catalog is not None:
        env["ANALYTICS_CATALOG"] = str(catalog)
    env.update(extra or {})
    port = _free_port()
    log = data_dir.parent / f"server-{port}.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analytics.ui.serve", "--port", str(port),
             "--address", "127.0.0.1"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", proc, log, password, started)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dashboard exited:\n{server.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    server.healthy_after_s = time.perf_counter() - started
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("the dashboard did not become healthy")


@dataclass
class Browser:
    """One signed-in tab, counting the websocket bytes it receives."""

    page: Any
    server: Server
    ws_bytes: int = 0
    html_bytes: int = 0
    shots: Path | None = None
    #: (seconds until the last websocket message, seconds until visible) of the last wait
    split: tuple[float, float] = (0.0, 0.0)
    retries: int = 0  # sidebar clicks that had to be repeated

    def _count_ws(self, ws: Any) -> None:
        def add(payload: bytes | str) -> None:
            self.ws_bytes += len(payload)
        ws.on("framereceived", add)

    def _count_html(self, response: Any) -> None:
        if response.request.resource_type == "document":
            with contextlib.suppress(Exception):  # a redirect has no body
                self.html_bytes += len(response.body())

    def runs(self) -> int:
        self.page.evaluate(RUNS_JS)
        return int(self.page.evaluate("() => window.__runs"))

    def wait_ready(self, title: str, runs: int = -1, *, timeout_ms: int = TIMEOUT_MS) -> None:
        """Until a run after the ``runs``-th is over and its content is drawn."""
        self.page.wait_for_function(READY_JS, arg=[title, runs], timeout=timeout_ms,
                                    polling=20)

    def mark(self) -> None:
        self.page.evaluate("() => { window.__t0 = performance.now(); }")

    def measured(self) -> float:
        """Seconds since :meth:`mark`; keeps the server/browser split in :attr:`split`."""
        last, total = self.page.evaluate(
            "() => [(window.__wsLast || 0) - window.__t0, performance.now() - window.__t0]")
        self.split = (max(0.0, last) / 1000, total / 1000)
        return float(total) / 1000

    def sign_in(self, path: str = "") -> float:
        """Open ``/path``, sign in; seconds from the Login click to the page's content."""
        self.page.goto(f"{self.server.url}/{path}")
        self.runs()
        user = self.page.get_by_role("textbox", name="Username")
        user.wait_for(timeout=TIMEOUT_MS)
        user.fill(USER)
        self.page.get_by_role("textbox", name="Password").fill(self.server.password)
        title = next(t for _, t, p in PAGES if p == path)
        n = self.runs()
        self.mark()
        self.page.get_by_role("button", name="Login").click()
        self.wait_ready(title, n)
        return self.measured()

    def switch(self, label: str, title: str) -> tuple[float, int]:
        """Click ``label`` in the sidebar; (seconds until content visible, websocket bytes)."""
        self.wait_ready(self.current_title())
        n, b0 = self.runs(), self.ws_bytes
        link = self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=label)
        self.mark()
        link.click()
        try:
            self.wait_ready(title, n, timeout_ms=30_000)
        except PlaywrightTimeout:  # a click landing mid-rerun can be dropped: count it, retry
            self.retries += 1
            n = self.runs()
            self.mark()
            link.click()
            self.wait_ready(title, n)
        return self.measured(), self.ws_bytes - b0

    def current_title(self) -> str:
        return str(self.page.locator('[data-testid="stMain"] h1').first.text_content() or "")

    def pick_range(self, label: str, title: str) -> float:
        """Choose ``label`` in the sidebar's time-range select box; seconds until visible."""
        self.wait_ready(title)
        box = self.page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(
            has_text="Time range")
        for attempt in range(2):  # a click landing mid-rerun can be dropped: retry once
            box.click()
            n = self.runs()
            self.mark()
            self.page.get_by_role("option", name=label, exact=True).click()
            try:
                self.wait_ready(title, n, timeout_ms=30_000 if attempt == 0 else TIMEOUT_MS)
                break
            except PlaywrightTimeout:
                self.retries += 1
                self.page.keyboard.press("Escape")
        return self.measured()

    def shot(self, name: str) -> None:
        """A screenshot of the whole page (the main area scrolls, so the window is grown)."""
        if self.shots is None:
            return
        size = self.page.viewport_size
        height = self.page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        self.page.set_viewport_size({"width": size["width"], "height": min(int(height), 12000)})
        self.page.wait_for_timeout(400)  # charts resize to the new window
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        self.page.set_viewport_size(size)


@contextmanager
def browser_tab(server: Server, shots: Path | None = None,
                timezone: str | None = "Europe/Berlin") -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = b.new_context(viewport={"width": 1400, "height": 1000},
                                timezone_id=timezone)
            ctx.add_init_script(WS_HOOK_JS)
            page = ctx.new_page()
            tab = Browser(page, server, shots=shots)
            page.on("websocket", tab._count_ws)
            page.on("response", tab._count_html)
            yield tab
        finally:
            b.close()


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:5.0f} ms (max {max(values) * 1000:.0f})"


def page_figures(tab: Browser, rounds: int) -> None:
    """Warm sidebar switches and range changes on every page; bytes per view."""
    times: dict[str, list[float]] = {t: [] for _, t, _ in PAGES}
    server: dict[str, list[float]] = {t: [] for _, t, _ in PAGES}
    sizes: dict[str, list[int]] = {t: [] for _, t, _ in PAGES}
    order = PAGES[1:] + PAGES[:1]  # sign-in lands on Overview: clicking it again runs nothing
    for _ in range(rounds + 1):  # the first round warms caches and the browser
        for label, title, _ in order:
            s, n = tab.switch(label, title)
            times[title].append(s)
            server[title].append(tab.split[0])
            sizes[title].append(n)
    for label, title, _ in PAGES:
        kb = statistics.median(sizes[title][1:]) / 1024
        last = statistics.median(server[title][1:]) * 1000
        print(f"  {label:<12} switch {_ms(times[title][1:])} · last server message at "
              f"{last:4.0f} ms · websocket {kb:6.1f} kB per view")
    for label, title, path in PAGES:
        tab.switch(label, title)
        tab.shot(f"page-{path or 'overview'}")
    for label, title, _ in (PAGES[0], PAGES[1]):
        tab.switch(label, title)
        changes = []
        for _ in range(rounds):
            changes.append(tab.pick_range("Last 24 hours", title))
            changes.append(tab.pick_range("Last 3 hours", title))
        print(f"  {label:<12} time-range change 3 h <-> 24 h {_ms(changes)}")
    print(f"  HTML of a fresh load: {tab.html_bytes / 1024:.1f} kB (static JS/CSS cached after)"
          + (f"; {tab.retries} sidebar click(s) repeated" if tab.retries else ""))


def first_view(data_dir: Path, catalog: Path, *, label: str, shots: Path | None,
               password: str, cookie_key: str) -> Server:
    """Start the dashboard on ``data_dir`` and time the first signed-in Overview."""
    server = start_server(data_dir, catalog=catalog, password=password, cookie_key=cookie_key)
    with browser_tab(server, shots) as tab:
        t = tab.sign_in()
        last = tab.split[0]
        tab.shot(f"first-view-{label}")
        again, _ = tab.switch("Alarms", "Alarms")
        back, _ = tab.switch("Overview", "Overview")
    print(f"  {label}: healthy {server.healthy_after_s:5.1f} s after launch; first Overview "
          f"{t:.2f} s after the Login click (last server message at {last:.2f} s); then "
          f"Alarms {again:.2f} s, Overview {back:.2f} s")
    return server


def fill_figures(n_apps: int, days: int, directory: Path) -> float:
    """Seconds to fill ``days`` of history for ``n_apps`` apps, per app-day."""
    from analytics.core.catalog import load_catalog
    from analytics.core.settings import load_settings
    from analytics.local.runtime import LocalRuntime
    from analytics.local.store import LocalStore

    data = directory / f"fill-{n_apps}"
    catalog = bench_catalog(n_apps, directory)
    settings = load_settings({"ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(data),
                              "SIMULATOR_LIVE": "false", "INGEST_ENABLED": "false",
                              "SIMULATOR_HISTORY_DAYS": str(days),
                              "ANALYTICS_CATALOG": str(catalog)}, secrets={})
    store = LocalStore(settings.duckdb_path)
    t0 = time.perf_counter()
    rt = LocalRuntime(load_catalog(catalog), store, settings=settings)
    elapsed = time.perf_counter() - t0
    rt.stop()
    store.close()
    per = elapsed / (n_apps * days)
    print(f"  {n_apps:>2} apps x {days} days: {elapsed:5.1f} s = {per:.3f} s per app-day")
    return per


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.browser")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per figure")
    parser.add_argument("--shots", type=Path, default=None, help="save screenshots here")
    parser.add_argument("--skip-first-view", action="store_true")
    parser.add_argument("--only-first-view", action="store_true")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: apt-get install -y chromium")
        return
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    try:
        if not args.only_first_view:
            warm_pages(tmp, args.rounds, args.shots)
        if args.skip_first_view:
            return
        print("== store fill, linear in apps x days ==")
        for n in (2, 10):
            fill_figures(n, 14, tmp)
        print("== first view after start, 10 apps x 14 days ==")
        catalog = bench_catalog(10, tmp)
        pw, key = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
        server = first_view(tmp / "data-10", catalog, label="fresh store", shots=args.shots,
                            password=pw, cookie_key=key)
        server.stop()
        server = first_view(tmp / "data-10", catalog, label="restart", shots=args.shots,
                            password=pw, cookie_key=key)
        server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def warm_pages(tmp: Path, rounds: int, shots: Path | None) -> None:
    print("== browser: warm page views (2 apps x 14 days, simulator live, signed in; "
          "Performance: JobSeek, the busiest app, every section open) ==")
    server = start_server(tmp / "data-2", catalog=bench_catalog(2, tmp, first="jobseek"))
    try:
        with browser_tab(server, shots) as tab:
            t = tab.sign_in()
            print(f"  first view after sign-in: {t:.2f} s")
            page_figures(tab, rounds)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
