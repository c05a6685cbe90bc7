"""Fixtures of the Performance suite: a small known sample set for every series the page reads,
loaded into a local store and into moto; aws runtimes on moto; plotly spec decoding."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws

from analytics.core.cache import QueryCache
from analytics.core.catalog import App, Catalog, load_catalog, parse_catalog
from analytics.core.periods import TimeRange, align_down
from analytics.core.settings import load_settings
from analytics.local.store import LocalStore
from analytics.metrics.local import LocalMetrics
from analytics.metrics.queries import MetricQuery, percentile_of
from analytics.performance.page import page_queries
from analytics.sources import Runtime, build_runtime
from tests.conftest import NOW, frozen_clock

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "apps.toml")
#: A 30-minute window 40 minutes ago, 5-minute buckets: valid for CloudWatch and small for moto.
START = align_down(NOW - timedelta(minutes=40), 300)
END = START + timedelta(minutes=30)
TR = TimeRange(START, END, 300, "test")
#: Series the page reads with percentiles: moto cannot answer those (Stubber checks them).
PERCENTILE_METRICS = {("AWS/ApiGateway", "Latency"), ("AWS/Lambda", "Duration")}

SeriesKey = tuple[str, str, str]


def page_series(app: App) -> dict[SeriesKey, MetricQuery]:
    """One query per distinct series of the page (the key the stores index by)."""
    out: dict[SeriesKey, MetricQuery] = {}
    for q in page_queries(app, TR):
        out.setdefault(q.series_key, q)
    return out


def make_samples(app: App, seed: int = 11, span_s: int = 1800) -> dict[SeriesKey, list[tuple[int,
                                                                                            float]]]:
    """(seconds after START, value) per series: a few dozen positive values each."""
    rng = np.random.default_rng(seed)
    out: dict[SeriesKey, list[tuple[int, float]]] = {}
    for key in page_series(app):
        n = 3 if key[0] == "AWS/S3" else 24
        secs = np.sort(rng.integers(0, span_s, n))
        vals = np.round(rng.lognormal(3.0, 0.6, n), 3)
        out[key] = [(int(s), float(v)) for s, v in zip(secs, vals, strict=True)]
    return out


def samples_frame(samples: dict[SeriesKey, list[tuple[int, float]]],
                  start: datetime = START) -> pd.DataFrame:
    base = int(start.timestamp() * 1000)
    rows = [(ns, name, dims, base + s * 1000, v)
            for (ns, name, dims), pts in samples.items() for s, v in pts]
    return pd.DataFrame(rows, columns=["namespace", "metric_name", "dims", "ts_ms", "value"])


def put_to_moto(samples: dict[SeriesKey, list[tuple[int, float]]], start: datetime = START,
                skip_percentile_series: bool = True) -> None:
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    for (ns, name, dims), pts in samples.items():
        if skip_percentile_series and (ns, name) in PERCENTILE_METRICS:
            continue  # moto fails on a percentile of stored data
        dim_list = [{"Name": k, "Value": v} for k, v in (d.split("=", 1) for d in
                                                          dims.split(","))]
        data = [{"MetricName": name, "Value": v, "Timestamp": start + timedelta(seconds=s),
                 "Dimensions": dim_list} for s, v in pts]
        cw.put_metric_data(Namespace=ns, MetricData=data)


def expected(q: MetricQuery, pts: list[tuple[int, float]], start: datetime = START,
             end: datetime = END) -> dict[pd.Timestamp, float]:
    """What CloudWatch answers for ``q`` over the window, computed with numpy."""
    buckets: dict[pd.Timestamp, list[float]] = {}
    span = (end - start).total_seconds()
    for s, v in pts:
        if s < span:
            buckets.setdefault(pd.Timestamp(start + timedelta(seconds=s - s % q.period)),
                               []).append(v)
    p = percentile_of(q.stat)
    fn = {"Sum": np.sum, "Average": np.mean, "Minimum": np.min, "Maximum": np.max,
          "SampleCount": len}.get(q.stat)
    return {k: float(np.percentile(v, p) if p is not None else fn(v))  # type: ignore[misc]
            for k, v in buckets.items()}


def aws_settings() -> Any:
    return load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"}, secrets={})


def aws_runtime(catalog: Catalog = CATALOG) -> Runtime:
    """An aws runtime (call inside ``mock_aws``) with its own cache and call counters."""
    clock = frozen_clock()
    return build_runtime(aws_settings(), cache=QueryCache(clock=clock), catalog=catalog,
                         clock=clock)


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def small_local(tmp_path: Path) -> Iterator[tuple[LocalMetrics, dict[str, dict]]]:
    """A local metrics source holding :func:`make_samples` of both apps."""
    store = LocalStore(tmp_path / "perf-contract.duckdb")
    by_app = {a.id: make_samples(a, seed=i) for i, a in enumerate(CATALOG.apps)}
    for samples in by_app.values():
        store.insert_samples(samples_frame(samples))
    yield LocalMetrics(store=store), by_app
    store.close()


def make_catalog(*apps: dict[str, Any]) -> Catalog:
    """A catalog from ``{"id": ..., **fields}`` tables (resources default to none)."""
    data = {"apps": {a["id"]: {k: v for k, v in a.items() if k != "id"} for a in apps}}
    return parse_catalog(data, ROOT / "test-apps.toml")


# --- plotly specs of AppTest charts ---------------------------------------------------------

def _decode(values: Any) -> list[Any]:
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]),
                             dtype=np.dtype(values["dtype"])).tolist()
    return list(values)


def spec_points(element: Any) -> pd.DataFrame:
    """The (trace name, x, y) points of an AppTest plotly element, as drawn.

    A trace gives its times as strings (the shown zone's wall clock: UTC under AppTest) or, on
    a regular grid, as a start and a step (``x0``/``dx``, missing buckets as NaN gaps).
    """
    spec = json.loads(element.proto.spec)
    rows = []
    for trace in spec["data"]:
        ys = _decode(trace.get("y", []))
        if "x0" in trace:
            x0 = pd.Timestamp(trace["x0"], tz="UTC")
            xs = [x0 + pd.Timedelta(milliseconds=trace["dx"] * i) for i in range(len(ys))]
        else:
            xs = [pd.Timestamp(x, tz="UTC") for x in _decode(trace.get("x", []))]
        rows += [(trace.get("name"), x, float(y)) for x, y in zip(xs, ys, strict=True)
                 if y is not None and y == y]
    return pd.DataFrame(rows, columns=["name", "timestamp", "value"])
