"""Scale-out figures: two dashboard processes, one moto server, one redis-server, 50 sessions.

``python -m bench.scale [--seconds 60] [--sessions 50] [--think 1.0]``

Runs the same load twice on the aws backend against one moto server started here (seeded like
the test suite's account, ``tests/aws_account.py``): two ``streamlit run Home.py`` processes,
first each with its own cache (no ``ANALYTICS_CACHE_URL``), then both in front of one
redis-server. Each session is a small websocket client speaking Streamlit's protocol (what the
browser sends: a ``rerun_script`` BackMsg per page, signed in by the session cookie), opening
Overview, Performance and Costs in turn, with ``--think`` seconds between pages, for
``--seconds``; half the sessions on each process, as a sticky load balancer would place them.

Printed: GetMetricData and Cost Explorer requests the moto server saw, per distinct request
body (a body is one query of one time window: within a TTL the goal is 1 for the fleet), page
time p50/p95 measured by the clients (send to ``script_finished``), and each dashboard
process's CPU seconds and resident memory per session (``/proc``). Clients, servers and moto
share this machine's cores: the page times are those of a saturated small host, not of AWS.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAGES = ("overview", "performance", "costs")
COUNTED = ("GetMetricData", "GetCostAndUsage", "GetCostForecast", "GetAnomalies")
#: moto answers these with an error (not implemented): every attempt, retries included, is
#: counted, and the negative cache (30 s) decides when the next one is made.
UNIMPLEMENTED = ("GetCostForecast", "GetAnomalies")
ROOT = Path(__file__).resolve().parent.parent
COOKIE = "central_analytics_auth"


# -- the moto server, counting what it is asked --------------------------------------------------
class Requests:
    """Every request the moto server answered: operation and a digest of its body."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, str]] = Counter()

    def reset(self) -> None:
        self.seen.clear()

    def wrap(self, app: Any) -> Any:
        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            op = _operation(environ, body)
            self.seen[(op, hashlib.sha256(body).hexdigest()[:16])] += 1
            return app(environ, start_response)
        return counted

    def per_query(self, op: str) -> tuple[int, int]:
        """(requests, distinct bodies) of one operation."""
        rows = [n for (o, _), n in self.seen.items() if o == op]
        return sum(rows), len(rows)


def _operation(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    path = str(environ.get("PATH_INFO", ""))
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    from urllib.parse import parse_qs

    form = parse_qs(body.decode("utf-8", "replace")) | parse_qs(environ.get("QUERY_STRING", ""))
    return form.get("Action", ["?"])[0]


@contextmanager
def counting_moto(requests: Requests) -> Iterator[str]:
    """moto's threaded server with every request counted (its WSGI app wrapped)."""
    import logging

    from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    from tests.fake_endpoint import free_port

    class Counting(ThreadedMotoServer):
        def _server_entry(self) -> None:
            from moto.moto_server.threaded_moto_server import MotoRequestHandler

            app = requests.wrap(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True,
                                       request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.disable(logging.ERROR)  # moto's tracebacks for what it does not implement
    port = free_port()
    server = Counting(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


# -- the dashboards --------------------------------------------------------------------------------
@dataclass
class Dashboard:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def start_dashboards(env: dict[str, str], *, count: int, workdir: Path) -> list[Dashboard]:
    from tests.fake_endpoint import free_port

    out = []
    for i in range(count):
        port = free_port()
        log = workdir / f"dashboard-{port}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"),
             "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
             "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"],
            cwd=ROOT, env={**os.environ, **env, "ANALYTICS_DATA_DIR": str(workdir / f"d{i}")},
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        out.append(Dashboard(port, proc, log))
    for d in out:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{d.port}/_stcore/health",
                                            timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"dashboard on {d.port} did not start; see {d.log}")
    return out


def stop(dashboards: list[Dashboard]) -> None:
    for d in dashboards:
        d.proc.terminate()
    for d in dashboards:
        d.proc.wait(timeout=30)


# -- the sessions ----------------------------------------------------------------------------------
@dataclass
class Load:
    times: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    failed: int = 0
    errors: int = 0  # pages that drew an exception or an error message


async def _page(ws: Any, page: str) -> tuple[bool, bool]:
    """Ask for one page; (finished, drew an error)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_name = page
    await ws.send(msg.SerializeToString())
    drew_error = False
    while True:
        fm = ForwardMsg.FromString(await ws.recv())
        kind = fm.WhichOneof("type")
        if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            drew_error |= fm.delta.new_element.WhichOneof("type") in ("exception",)
        if kind == "script_finished":
            status = fm.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue
            return status == ForwardMsg.FINISHED_SUCCESSFULLY, drew_error


async def _session(port: int, cookie: str, until: float, think: float, first: int,
                   load: Load) -> None:
    import websockets

    headers = {"Cookie": f"{COOKIE}={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    loop = asyncio.get_running_loop()
    async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream",
                                  subprotocols=["streamlit"],  # type: ignore[list-item]
                                  additional_headers=headers, max_size=None,
                                  open_timeout=60, ping_interval=None) as ws:
        i = first
        while loop.time() < until:
            page = PAGES[i % len(PAGES)]
            i += 1
            t0 = time.perf_counter()
            try:
                ok, drew_error = await asyncio.wait_for(_page(ws, page), timeout=120)
            except TimeoutError:
                load.failed += 1
                return
            load.times[page].append(time.perf_counter() - t0)
            load.failed += not ok
            load.errors += drew_error
            await asyncio.sleep(think)


async def drive(dashboards: list[Dashboard], cookies: list[str], *, seconds: float,
                think: float) -> Load:
    load = Load()
    until = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(*(
        _session(dashboards[i % len(dashboards)].port, cookie, until, think, i, load)
        for i, cookie in enumerate(cookies)))
    return load


# -- one run ---------------------------------------------------------------------------------------
@dataclass
class Run:
    name: str
    load: Load
    requests: dict[str, tuple[int, int]]
    cpu_s: list[float]
    rss_idle: list[float]
    rss_end: list[float]
    seconds: float


def run_once(name: str, env: dict[str, str], cookies: list[str], requests: Requests, *,
             seconds: float, think: float, workdir: Path) -> Run:
    dashboards = start_dashboards(env, count=2, workdir=workdir)
    try:
        time.sleep(2.0)  # let the processes settle before measuring their idle memory
        rss_idle = [d.rss_mb() for d in dashboards]
        cpu0 = [d.cpu_s() for d in dashboards]
        requests.reset()
        t0 = time.perf_counter()
        load = asyncio.run(drive(dashboards, cookies, seconds=seconds, think=think))
        elapsed = time.perf_counter() - t0
        cpu = [d.cpu_s() - c for d, c in zip(dashboards, cpu0, strict=True)]
        rss_end = [d.rss_mb() for d in dashboards]
        counts = {op: requests.per_query(op) for op in COUNTED}
    finally:
        stop(dashboards)
    return Run(name, load, counts, cpu, rss_idle, rss_end, elapsed)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    import numpy as np

    return float(np.percentile(values, q))


def report(run: Run, sessions: int) -> None:
    all_times = [t for ts in run.load.times.values() for t in ts]
    views = len(all_times)
    print(f"\n## {run.name}: {views} page views in {run.seconds:.0f} s, "
          f"{run.load.failed} unfinished, {run.load.errors} drew an exception")
    print("requests seen by moto   total  distinct bodies  per distinct body")
    for op, (total, distinct) in run.requests.items():
        per = total / distinct if distinct else 0.0
        why = "  (moto: not implemented, retries counted)" if op in UNIMPLEMENTED else ""
        print(f"  {op:<20} {total:>7}  {distinct:>15}  {per:>17.2f}{why}")
    print("page time (client)        p50      p95   views")
    for page, ts in run.load.times.items():
        print(f"  {page:<20} {_pct(ts, 50):7.2f}s {_pct(ts, 95):7.2f}s {len(ts):>7}")
    print(f"  {'all':<20} {_pct(all_times, 50):7.2f}s {_pct(all_times, 95):7.2f}s {views:>7}")
    per_proc = sessions / len(run.cpu_s)
    for i, (cpu, idle, end) in enumerate(zip(run.cpu_s, run.rss_idle, run.rss_end, strict=True)):
        print(f"  process {i + 1}: CPU {cpu:.1f} s ({cpu / run.seconds * 100:.0f}% of a core), "
              f"{cpu / per_proc / run.seconds * 60:.2f} CPU-s per session-minute; RSS "
              f"{idle:.0f} MB idle -> {end:.0f} MB, {(end - idle) / per_proc:.1f} MB per session")


def demo(env: dict[str, str], *, redis: Any, workdir: Path, password: str) -> int:
    """Two dashboards sharing one tier, for a person to click through (docs/deploy.md)."""
    dashboards = start_dashboards(env, count=2, workdir=workdir)
    try:
        for d in dashboards:
            print(f"dashboard: http://127.0.0.1:{d.port}  (log: {d.log})")
        print(f"sign in as bench / {password}; shared cache: {redis.url}; Ctrl-C stops all",
              flush=True)
        while all(d.proc.poll() is None for d in dashboards):
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        stop(dashboards)
        redis.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a session waits between pages (default 1)")
    parser.add_argument("--demo", action="store_true",
                        help="no load: start moto, redis-server and two dashboards sharing it, "
                             "print their addresses and a sign-in, run until Ctrl-C")
    args = parser.parse_args(argv)

    import pytest

    from analytics.auth import cookie
    from analytics.auth.credentials import User
    from tests.aws_account import catalog_toml, patch_moto_gaps, seed_account, server_env
    from tests.helpers import quick_hash
    from tests.redis_server import RedisServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    key = hashlib.sha256(os.urandom(32)).hexdigest()
    password = os.urandom(9).hex()
    pw_hash = quick_hash(password)
    user = User("bench", pw_hash, role="admin", apps=None)
    now = time.time()
    cookies = [cookie.issue(user, key=key, now=now, lifetime_s=3600)[1]
               for _ in range(args.sessions)]
    users_yaml = ("credentials:\n  usernames:\n    bench:\n      name: Bench\n"
                  f"      password: '{pw_hash}'\n      roles: [admin]\n      apps: ['*']\n")
    requests = Requests()
    runs = []
    with pytest.MonkeyPatch.context() as mp, counting_moto(requests) as url:
        patch_moto_gaps(mp)
        account = seed_account(url)
        catalog = workdir / "apps.toml"
        catalog.write_text(catalog_toml(account.http_ids["shop"], account.http_ids["blog"]))
        env = server_env(url, ANALYTICS_CATALOG=str(catalog), AUTH_COOKIE_KEY=key,
                         AUTH_CREDENTIALS_YAML=users_yaml, ANALYTICS_PAGE_DEADLINE_S="8")
        redis = RedisServer().start()
        if args.demo:
            return demo({**env, "ANALYTICS_CACHE_URL": redis.url}, redis=redis,
                        workdir=workdir, password=password)
        try:
            print(f"{args.sessions} sessions x {args.seconds:.0f} s on 2 dashboard processes, "
                  f"{args.think:.1f} s between pages; moto at {url}, redis-server at {redis.url}",
                  flush=True)
            runs.append(run_once("without ANALYTICS_CACHE_URL (each process caches alone)",
                                 env, cookies, requests, seconds=args.seconds,
                                 think=args.think, workdir=workdir))
            report(runs[-1], args.sessions)
            runs.append(run_once("with ANALYTICS_CACHE_URL (one redis-server for both)",
                                 {**env, "ANALYTICS_CACHE_URL": redis.url}, cookies, requests,
                                 seconds=args.seconds, think=args.think, workdir=workdir))
            report(runs[-1], args.sessions)
        finally:
            redis.stop()
    alone, shared = runs
    print("\n## fleet-wide requests per distinct query (goal with the tier: 1.00)")
    for op in COUNTED:
        a, s = alone.requests[op], shared.requests[op]
        if a[1] or s[1]:
            why = "  (failing calls: attempts)" if op in UNIMPLEMENTED else ""
            print(f"  {op:<20} alone {a[0] / max(a[1], 1):.2f} ({a[0]} requests)   "
                  f"shared {s[0] / max(s[1], 1):.2f} ({s[0]} requests){why}")
    fails = sum(r.load.failed for r in runs)
    return 1 if fails else 0


if __name__ == "__main__":
    raise SystemExit(main())
