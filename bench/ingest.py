"""Custom-metric ingest figures quoted in the README and docs/realtime.md.

    .venv/bin/python -m bench.ingest

1. Local endpoint throughput: metrics per second through the real HTTP server (the Lambda's
   resolver + DuckDB sink, commit before 202), batches of 100, several keep-alive clients; and
   one ``analytics.custom.client.record_metrics`` caller (a new connection per batch).
2. The Lambda handler in-process against moto DynamoDB (``lambda_handler`` with EMF output on,
   BatchWriteItem in chunks of 25): metrics per second. moto's own cost dominates; real DynamoDB
   latency is network-bound instead.
3. Ingest -> visible lag through the Realtime query path: POST one datapoint, then poll
   ``custom_metric_series(kind="live")`` through the shared cache (1 s TTL) until it shows;
   p50/p95 over many probes sent at random phases of the cache TTL, with the live simulator and
   business feeder running as under ``make run``.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import io
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from analytics.core.cache import QueryCache
from analytics.core.catalog import load_catalog
from analytics.core.settings import load_settings
from analytics.custom import client
from analytics.custom import service as custom_metrics
from analytics.local.custom_sink import DuckDBSink
from analytics.local.ingest_server import IngestServer, build_local_resolver, quiet_lambda_logs
from analytics.local.live_services import ingest_server
from analytics.local.store import LocalStore
from analytics.realtime.service import realtime_view, realtime_window
from analytics.sources import Runtime, build_runtime
from bench.common import ROOT
from ingest import app as ingest_app
from ingest import events as ingest_events

TOKEN = "bench-token"
BATCH = 100


def _batch_bodies(n_batches: int, offset_ms: int) -> list[bytes]:
    """Distinct datapoints (no two share a key), pre-encoded so clients spend no time on JSON."""
    now = int(time.time() * 1000) - 60_000
    bodies = []
    for b in range(n_batches):
        items = [{"applicationId": "jobseek", "metricName": "BenchThroughput",
                  "value": float(i), "unit": "Count",
                  "dimensions": [{"name": "Client", "value": str(offset_ms)}],
                  "timestamp": now - offset_ms - b * BATCH - i} for i in range(BATCH)]
        bodies.append(json.dumps({"metrics": items}).encode())
    return bodies


def _keep_alive_client(host: str, port: int, bodies: list[bytes]) -> list[float]:
    """One client process: send every body on one keep-alive connection; request latencies."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    latencies = []
    for body in bodies:
        t0 = time.perf_counter()
        conn.request("POST", "/metrics", body, headers)
        resp = conn.getresponse()
        resp.read()
        latencies.append(time.perf_counter() - t0)
        if resp.status != 202:
            raise RuntimeError(f"HTTP {resp.status}")
    conn.close()
    return latencies


def local_throughput(clients: int = 2, batches_per_client: int = 100) -> None:
    """Clients run in their own processes, as real apps would: the server process keeps the
    GIL to itself, and the 2 cores are shared between the clients and the server."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as d:
        store = LocalStore(Path(d) / "ingest.duckdb")
        sink = DuckDBSink(store)
        catalog = load_catalog(ROOT / "apps.toml")
        srv = IngestServer(build_local_resolver(catalog, sink, TOKEN), TOKEN, port=0).start()
        ctx = multiprocessing.get_context("spawn")
        try:
            work = [_batch_bodies(batches_per_client, c * 10_000_000) for c in range(clients)]
            # Workers import this module up front, so the clock measures only the requests.
            with ctx.Pool(clients, initializer=importlib.import_module,
                          initargs=("bench.ingest",)) as pool:
                pool.map(time.sleep, [0.1] * clients)
                t0 = time.perf_counter()
                results = pool.starmap(_keep_alive_client,
                                       [(srv.host, srv.port, w) for w in work])
                wall = time.perf_counter() - t0
            latencies = [x for r in results for x in r]
            n = clients * batches_per_client * BATCH
            assert sink.count() == n, (sink.count(), n)
            p50, p95 = np.percentile(latencies, [50, 95]) * 1000
            print(f"  local endpoint, {clients} client processes x {batches_per_client} "
                  f"batches of {BATCH} (keep-alive): {n / wall:,.0f} metrics/s "
                  f"({n / BATCH / wall:,.0f} requests/s); request p50 {p50:.1f} ms, "
                  f"p95 {p95:.1f} ms")
            metrics = [json.loads(b)["metrics"] for b in _batch_bodies(40, 999_000_000)]
            t0 = time.perf_counter()
            for m in metrics:
                client.record_metrics(m, endpoint=srv.url, token=TOKEN)
            wall = time.perf_counter() - t0
            print(f"  local endpoint, one analytics.custom.client caller in-process "
                  f"(new connection per batch): {40 * BATCH / wall:,.0f} metrics/s")
        finally:
            srv.stop()
            store.close()


def handler_throughput(batches: int = 40) -> None:
    import boto3
    from moto import mock_aws

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "METRICS_TABLE": "bench-metrics",
                       "ALLOWED_APPLICATIONS": "jobseek,ilikeyacut", "REQUIRE_IAM_AUTH": "true",
                       # the IAM identity of ingest_events' signed events may write both apps
                       "INGEST_PRINCIPALS": json.dumps({
                           app: ["arn:aws:iam::123456789012:user/example"]
                           for app in ("jobseek", "ilikeyacut")}),
                       "APP_NAMESPACES": "jobseek=JobSeek/Business"})
    lam = ingest_app
    event_of = ingest_events.http_api_event
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="bench-metrics", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                       {"AttributeName": "timestamp", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "metricId", "AttributeType": "S"},
                                  {"AttributeName": "timestamp", "AttributeType": "N"}])
        lam.default_resolver.cache_clear()
        events = [event_of("POST", "/metrics", body=b, iam=True)
                  for b in _batch_bodies(batches, 0)]

        class Ctx:
            function_name, memory_limit_in_mb = "bench", 256
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
            aws_request_id = "bench"

        times = []
        with contextlib.redirect_stdout(io.StringIO()):  # EMF + log lines
            lam.lambda_handler(events[0], Ctx())  # cold start (resolver, client): not timed
            for ev in events[1:]:
                t0 = time.perf_counter()
                answer = lam.lambda_handler(ev, Ctx())
                times.append(time.perf_counter() - t0)
                assert answer["statusCode"] == 202, answer
        lam.default_resolver.cache_clear()
    total = sum(times)
    print(f"  Lambda handler in-process on moto DynamoDB (EMF on): "
          f"{len(times) * BATCH / total:,.0f} metrics/s; per batch of {BATCH} "
          f"p50 {statistics.median(times) * 1000:.0f} ms (4 BatchWriteItem calls)")


def visible_lag(probes: int = 30) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lag-") as d:
        rt = build_runtime(load_settings({
            "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": d, "SIMULATOR_LIVE": "true",
            "SIMULATOR_HISTORY_DAYS": "1", "INGEST_ENABLED": "true", "INGEST_PORT": "0",
            "INGEST_TOKEN": TOKEN,
        }, secrets={}), cache=QueryCache())
        try:
            srv = ingest_server(rt)
            assert srv is not None
            acks, visible, direct = [], [], []
            rng = random.Random(3)
            ttl = rt.cache.ttls["live"]
            for i in range(1, probes + 1):
                time.sleep(rng.uniform(0, ttl))  # a uniformly random phase of the cache TTL
                t0 = time.perf_counter()
                ts = int(time.time() * 1000)
                client.record_metric("jobseek", "BenchProbe", float(i), unit="Count", timestamp=ts,
                                     endpoint=srv.url, token=TOKEN)
                acks.append(time.perf_counter() - t0)
                start, end = realtime_window(rt.now())
                raw = rt.sources.custom.metric_stats(
                    "jobseek", "BenchProbe", start_ms=int(start.timestamp() * 1000),
                    end_ms=int(end.timestamp() * 1000), period=10, stat="Maximum", dims=None,
                    now_ms=ts)
                direct.append(float(raw["value"].max()) >= i)
                while True:
                    got = custom_metrics.custom_metric_series(
                        rt,
                        "jobseek",
                        "BenchProbe",
                        start=start,
                        end=end,
                        period=10,
                        stat="Maximum",
                        kind="live",
                    ).value
                    if len(got) and got["value"].max() >= i:
                        break
                    time.sleep(0.01)
                visible.append(time.perf_counter() - t0)
            new_name, new_dims = new_series_lag(rt, probes, rng)
            assert rt.local is not None
            probe_lag = [r[0] for r in rt.local.store.cursor().execute(
                "SELECT received_ms - ts_ms FROM custom_metrics WHERE metric_name = 'BenchProbe'"
            ).fetchall()]
        finally:
            rt.stop()
    a50, a95 = np.percentile(acks, [50, 95]) * 1000
    v50, v95 = np.percentile(visible, [50, 95])
    print(f"  ingest -> visible through the Realtime query path ({probes} probes, cache TTL "
          f"{QueryCache().ttls['live']:g} s): p50 {v50:.2f} s, p95 {v95:.2f} s, "
          f"max {max(visible):.2f} s")
    print(f"    POST -> 202 (committed): p50 {a50:.1f} ms, p95 {a95:.1f} ms; visible to an "
          f"uncached query right after the 202: {sum(direct)}/{len(direct)}")
    l50, l95 = np.percentile(probe_lag, [50, 95])
    print(f"    ingest lag as the page measures it (receivedAt - timestamp) of the probes: "
          f"p50 {l50:.0f} ms, p95 {l95:.0f} ms")
    for what, lags in (("new metric name", new_name), ("new dimension set", new_dims)):
        p50, p95 = np.percentile(lags, [50, 95])
        print(f"  {what} -> on the Realtime page (a chart or the More list / a line, "
              f"filtered for), {len(lags)} probes: p50 {p50:.2f} s, p95 {p95:.2f} s, "
              f"max {max(lags):.2f} s")


#: A probe not on the page after this long is recorded at this value (and shows in the max).
GIVE_UP_S = 30.0


def _on_page(rt: Runtime, name: str, line: str | None) -> bool:
    """Whether the Realtime page shows the new series: a new name as a chart of its own or,
    past the page's chart limit, in its "More custom metrics" list; a new dimension set as a
    line of its chart when the viewer filters for it ("Dimension sets containing"), since a
    chart draws only its busiest lines."""
    if line is None:
        view = realtime_view(rt, "jobseek")
        return (any(p.key == f"custom:{name}" for p in view.custom)
                or name in view.hidden_metrics)
    view = realtime_view(rt, "jobseek", dims_filter=line)
    panel = next((p for p in view.custom if p.key == f"custom:{name}"), None)
    return panel is not None and line in panel.lines


def new_series_lag(rt: Runtime, probes: int, rng: random.Random) -> tuple[list[float],
                                                                             list[float]]:
    """Seconds from POSTing a metric name (or dimension set) never sent before until the
    Realtime page's data (:func:`realtime_view`, through the shared cache) shows it
    (:func:`_on_page`); each probe starts at a random phase of the cache's refresh."""
    srv = ingest_server(rt)
    assert srv is not None
    names: list[float] = []
    dims: list[float] = []
    ttl = rt.cache.ttls["live"]
    for i in range(1, probes + 1):
        for kind in ("name", "dims"):
            realtime_view(rt, "jobseek")  # a viewer has the page open
            time.sleep(rng.uniform(0, ttl))
            name = f"BenchNew{i}" if kind == "name" else "BenchProbe"
            dim = {"Probe": f"p{i}"} if kind == "dims" else None
            t0 = time.perf_counter()
            client.record_metric("jobseek", name, 1.0, unit="Count", dimensions=dim,
                                 endpoint=srv.url, token=TOKEN)
            while not _on_page(rt, name, None if dim is None else f"Probe=p{i}"):
                if time.perf_counter() - t0 > GIVE_UP_S:
                    break
                time.sleep(0.01)
            (names if kind == "name" else dims).append(time.perf_counter() - t0)
    return names, dims


def main() -> None:
    print(f"Ingest bench ({os.cpu_count()} cores)")
    quiet_lambda_logs("WARNING")
    local_throughput()
    handler_throughput()
    visible_lag()


if __name__ == "__main__":
    main()
