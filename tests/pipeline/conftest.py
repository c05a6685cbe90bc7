"""Fixtures of the pipeline tests: a local store holding known raw samples on fixed days, so every
expected value is computed independently (numpy, plain sums) and no test reads the wall clock.

Days: 2026-03-02 (a Monday) .. 2026-03-07 hold samples; "today" is 2026-03-10. Costs are the
simulator's line items from 2026-01-01 (so February and the weeks around March are complete).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.core import access
from analytics.core.cache import QueryCache
from analytics.core.catalog import load_catalog
from analytics.core.settings import load_settings
from analytics.custom.keys import SORT_KEY_SHIFT
from analytics.local import sim_costs
from analytics.local.store import LocalStore
from analytics.metrics.queries import canonical_dims
from analytics.sources import Runtime, local_sources

ROOT = Path(__file__).resolve().parents[2]
D0 = date(2026, 3, 2)
DAYS = [D0 + timedelta(days=i) for i in range(6)]
TODAY = date(2026, 3, 10)
COST_FIRST = date(2026, 1, 1)
FAR_TTL = 4_102_444_800  # 2100-01-01: custom points never expire during the tests

HTTP_API = ("AWS/ApiGateway", canonical_dims([("ApiId", "k3x9ab12cd"), ("Stage", "$default")]))
REST_API = ("AWS/ApiGateway", canonical_dims([("ApiName", "jobseek-public"), ("Stage", "prod")]))
AUTH_FN = ("AWS/Lambda", canonical_dims([("FunctionName", "ilikeyacut-auth")]))


def ms(d: date, seconds: float = 0.0) -> int:
    return int((datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() + seconds) * 1000)


@dataclass(frozen=True)
class Raw:
    """The raw samples written, for computing the expected values."""

    samples: pd.DataFrame  # namespace, metric_name, dims, ts_ms, value
    custom: pd.DataFrame  # app, metric_name, dims, ts_ms, value

    def values(self, name: str, dims: tuple[str, str], day: date) -> np.ndarray:
        s = self.samples
        m = ((s["namespace"] == dims[0]) & (s["dims"] == dims[1]) & (s["metric_name"] == name)
             & (s["ts_ms"] >= ms(day)) & (s["ts_ms"] < ms(day + timedelta(days=1))))
        return s.loc[m, "value"].to_numpy()


def _raw() -> Raw:
    rng = np.random.default_rng(17)
    rows: list[tuple[object, ...]] = []
    for day in DAYS:
        for ns, dims in (HTTP_API, REST_API):
            for i in range(48):
                rows.append((ns, "Count", dims, ms(day, i * 1800 + 7),
                             float(rng.integers(20, 200))))
            for s in rng.integers(0, 86_400, 300):
                rows.append((ns, "Latency", dims, ms(day, int(s)),
                             float(np.round(rng.lognormal(4.5, 0.6), 3))))
        for i in range(24):  # HTTP APIs publish 5xx as "5xx"
            rows.append((HTTP_API[0], "5xx", HTTP_API[1], ms(day, i * 3600 + 11),
                         float(rng.integers(0, 4))))
        for i in range(12):
            rows.append((AUTH_FN[0], "Errors", AUTH_FN[1], ms(day, i * 7200 + 3),
                         float(rng.integers(0, 3))))
    samples = pd.DataFrame(rows, columns=["namespace", "metric_name", "dims", "ts_ms", "value"])
    custom_rows = []
    for day in DAYS:
        for i, dims in enumerate(("", "Plan=pro", "Plan=pro", "")):
            custom_rows.append(("ilikeyacut", "Signups", dims, ms(day, 3600 * (i + 1)),
                                float(rng.integers(1, 9))))
    custom = pd.DataFrame(custom_rows, columns=["app", "metric_name", "dims", "ts_ms", "value"])
    return Raw(samples, custom)


RAW = _raw()


def fill(store: LocalStore, raw: Raw = RAW) -> None:
    store.insert_samples(raw.samples)
    catalog = load_catalog(ROOT / "apps.toml")
    sim_costs.write_days(store, catalog, seed=7, first=COST_FIRST, until=TODAY)
    c = raw.custom
    frame = pd.DataFrame({
        "metric_id": c["app"] + "#" + c["metric_name"],
        "sort_key": [ts * SORT_KEY_SHIFT + (1 if d else 0) for ts, d in zip(c["ts_ms"], c["dims"],
                                                                             strict=True)],
        "ts_ms": c["ts_ms"], "dims": c["dims"], "value": c["value"], "unit": "Count",
        "app": c["app"], "metric_name": c["metric_name"], "received_ms": c["ts_ms"] + 500,
        "ttl": FAR_TTL,
    })
    with store.transaction() as cur:
        cur.register("rows", frame)
        cur.execute("INSERT INTO custom_metrics SELECT metric_id, sort_key::HUGEINT, ts_ms, dims,"
                    " value, unit, app, metric_name, received_ms, ttl FROM rows")
        cur.unregister("rows")


@pytest.fixture(autouse=True)
def _trusted() -> Iterator[None]:
    access.set_principal(None)
    yield
    access.set_principal(None)


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A local runtime over the fixed store (fresh per test: runs write to it), its clock
    stopped at noon of TODAY."""
    store = LocalStore(tmp_path / "pipeline.duckdb")
    fill(store)
    settings = load_settings({"ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(tmp_path),
                              "SIMULATOR_LIVE": "false"}, secrets={})
    clock = Clock(datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=12))
    yield Runtime(settings, load_catalog(ROOT / "apps.toml"),
                  local_sources(store=store, data_dir=tmp_path, clock=clock),
                  QueryCache(clock=clock), clock=clock)
    store.close()


class Clock:
    """An injected clock: seconds since the epoch, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.t = at.timestamp()

    def __call__(self) -> float:
        return self.t
