"""The read API's figures quoted in the README and docs/api.md.

    .venv/bin/python -m bench.api

1. ``getMetrics`` over HTTP on the local twin (14 days x 2 apps): p50/p95 per request, cold
   (the shared cache emptied before each) and warm, for a 3-hour LATENCY query with four
   statistics over every API of the app, and a 14-day REQUESTS one.
2. Ingest, single-item POSTs from 20 keep-alive connections (one client process, asyncio, raw
   HTTP/1.1 so the client costs little of the 2 cores): requests per second and p50/p95.
3. Ingest, batches of 100 from 4 and from 20 keep-alive connections: datapoints per second.
4. Live updates: 20 ``graphql-transport-ws`` subscribers in one process, one POST every 25 ms;
   commit -> subscriber (``committedAt`` to receipt) p50/p95 over every delivery, and the
   processing lag (the point's own timestamp, stamped by the sender just before its POST, to
   receipt) p50/p95.
Both ends run on this machine, so one clock serves both timestamps.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np

from analytics.api.inputs import aws_datetime
from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.local.ingest_server import ingest_token, quiet_lambda_logs
from analytics.local.live_services import ingest_server
from analytics.sources import build_runtime

CLIENTS = 20
SECONDS = 6.0


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# -- 1. getMetrics ------------------------------------------------------------------------
METRICS = """query($app: String!, $type: MetricType!, $s: String!, $e: String!,
                  $stats: [String!]) {
  getMetrics(applicationId: $app, metricType: $type, startTime: $s, endTime: $e,
             statistics: $stats) { periodSeconds series { resource statistic
             points { timestamp value } } }
}"""


def get_metrics_figures(url: str, token: str, reset: Any, now: float) -> None:
    cases = [("LATENCY 3 h, 4 statistics", "LATENCY", 3 * 3600, ["Average", "p50", "p95",
                                                                   "p99"]),
             ("REQUESTS 14 d", "REQUESTS", 14 * 86400, ["Sum"])]
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, trust_env=False,
                      timeout=30) as http:
        for label, kind, span, stats in cases:
            variables = {"app": "jobseek", "type": kind, "s": aws_datetime(now - span),
                         "e": aws_datetime(now), "stats": stats}
            body = {"query": METRICS, "variables": variables}
            out = {}
            for mode in ("cold", "warm"):
                times = []
                for _ in range(30):
                    if mode == "cold":
                        reset()
                    t0 = time.perf_counter()
                    response = http.post(url, json=body)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200 and "errors" not in response.json()
                out[mode] = times
            points = sum(len(s["points"]) for s in response.json()["data"]["getMetrics"]
                         ["series"])
            print(f"getMetrics {label} ({points} points): cold p50 {pct(out['cold'], 50):.1f} "
                  f"ms, p95 {pct(out['cold'], 95):.1f} ms; warm p50 {pct(out['warm'], 50):.1f} "
                  f"ms, p95 {pct(out['warm'], 95):.1f} ms (goal p95 < 200 ms)", flush=True)


# -- 2./3. ingest load (client process) --------------------------------------------------
def _request(port: int, token: str, body: bytes) -> bytes:
    return (f"POST /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer "
            f"{token}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    await reader.readexactly(length)
    return status


async def _load(port: int, token: str, connections: int, seconds: float, batch: int
                ) -> tuple[list[float], int, int]:
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    failures = 0

    async def worker(n: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = 0
        start_ms = int(time.time() * 1000)
        while time.perf_counter() < stop:
            # every point a new key (one connection's points 1 ms apart, back from its start),
            # as an application's own points are: a resent key costs the store an overwrite
            items = [{"applicationId": "jobseek", "metricName": "BenchLoad", "value": float(i),
                      "dimensions": [{"name": "Conn", "value": str(n)}],
                      "timestamp": start_ms - i * batch - k} for k in range(batch)]
            payload = json.dumps(items[0] if batch == 1 else {"metrics": items}).encode()
            t0 = time.perf_counter()
            writer.write(_request(port, token, payload))
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - t0) * 1000)
            failures += status != 202
            i += 1
        writer.close()

    await asyncio.gather(*(worker(n) for n in range(connections)))
    return latencies, failures, batch


def load_client(port: int, token: str, connections: int, seconds: float, batch: int,
                out: Any) -> None:
    out.put(asyncio.run(_load(port, token, connections, seconds, batch)))


def ingest_figures(port: int, token: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    for label, connections, batch in (("single-item POSTs", CLIENTS, 1),
                                      ("batches of 100", 4, 100),
                                      ("batches of 100", CLIENTS, 100)):
        queue = ctx.Queue()
        proc = ctx.Process(target=load_client, args=(port, token, connections, SECONDS, batch,
                                                     queue))
        proc.start()
        latencies, failures, batch = queue.get(timeout=120)
        proc.join()
        rate = len(latencies) / SECONDS
        extra = f", {rate * batch:,.0f} datapoints/s" if batch > 1 else ""
        goal = ("goal >= 20,000 datapoints/s" if batch > 1
                else "goal >= 1,000 req/s, p95 < 100 ms")
        print(f"ingest {label}, {connections} keep-alive connections: {rate:,.0f} req/s{extra}; "
              f"p50 {pct(latencies, 50):.1f} ms, p95 {pct(latencies, 95):.1f} ms; "
              f"{failures} not 202 ({goal})", flush=True)


# -- 4. live updates (subscriber process) --------------------------------------------------
SUBSCRIBE = """subscription { metricUpdates(applicationId: "jobseek", metricTypes: [CUSTOM],
  metricNames: ["BenchLive"]) { committedAt points { timestamp } } }"""


async def _subscribers(url: str, token: str, n: int, posts: int, interval: float
                       ) -> tuple[list[float], list[float]]:
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    live: list[float] = []
    lag: list[float] = []
    ready = 0

    async def one() -> None:
        nonlocal ready
        async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {token}"}}))
            await ws.recv()
            await ws.send(json.dumps({"type": "subscribe", "id": "1",
                                      "payload": {"query": SUBSCRIBE}}))
            ready += 1
            got = 0
            while got < posts:
                raw = await asyncio.wait_for(ws.recv(), 10)
                now = time.time() * 1000
                update = json.loads(raw)["payload"]["data"]["metricUpdates"]
                committed = _ms(update["committedAt"])
                live.append(now - committed)
                lag.extend(now - _ms(p["timestamp"]) for p in update["points"])
                got += len(update["points"])

    async def poster() -> None:
        while ready < n:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # every subscription registered
        async with httpx.AsyncClient(trust_env=False) as http:
            for _ in range(posts):
                stamp = int(time.time() * 1000)
                await http.post(url.replace("ws://", "http://").replace("/graphql", "/metrics"),
                                json={"applicationId": "jobseek", "metricName": "BenchLive",
                                      "value": 1, "timestamp": stamp},
                                headers={"Authorization": f"Bearer {token}"})
                await asyncio.sleep(interval)

    await asyncio.gather(*(one() for _ in range(n)), poster())
    return live, lag


def _ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def subscriber_client(url: str, token: str, n: int, posts: int, interval: float,
                      out: Any) -> None:
    out.put(asyncio.run(_subscribers(url, token, n, posts, interval)))


def live_figures(url: str, token: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    posts = 200
    proc = ctx.Process(target=subscriber_client, args=(url, token, CLIENTS, posts, 0.025,
                                                       queue))
    proc.start()
    live, lag = queue.get(timeout=180)
    proc.join()
    print(f"live updates, {CLIENTS} subscribers x {posts} POSTs (one per 25 ms): commit -> "
          f"subscriber p50 {pct(live, 50):.1f} ms, p95 {pct(live, 95):.1f} ms "
          f"({len(live):,} deliveries); processing lag (point stamped by the sender -> "
          f"subscriber) p50 {pct(lag, 50):.1f} ms, p95 {pct(lag, 95):.1f} ms (goals: live p95 "
          f"< 100 ms, lag < 5 s)", flush=True)


def main() -> None:
    quiet_lambda_logs()
    data_dir = tempfile.mkdtemp(prefix="bench-api-")
    t0 = time.perf_counter()
    rt = build_runtime(load_settings({
        "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": data_dir, "SIMULATOR_LIVE": "false",
        "SIMULATOR_HISTORY_DAYS": "14", "INGEST_ENABLED": "true", "INGEST_PORT": "0",
    }, secrets={}), cache=QueryCache())
    server = ingest_server(rt)
    assert server is not None
    token = ingest_token(rt.settings, announce=False)[0]
    print(f"local twin: 14 days x 2 apps ({rt.local.store.sample_count():,} samples, "
          f"{time.perf_counter() - t0:.1f} s to fill), API on {server.graphql_url}", flush=True)
    try:
        get_metrics_figures(server.graphql_url, token, rt.cache.reset, time.time())
        before = (server.ingest.sink.commits, server.ingest.sink.requests)
        ingest_figures(server.port, token)
        commits = server.ingest.sink.commits - before[0]
        requests = server.ingest.sink.requests - before[1]
        print(f"group commit: {requests:,} requests in {commits:,} transactions "
              f"({requests / max(commits, 1):.1f} per commit)", flush=True)
        live_figures(server.graphql_url.replace("http://", "ws://"), token)
    finally:
        rt.stop()
    print(f"(run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
