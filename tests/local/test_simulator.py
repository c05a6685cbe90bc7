from pathlib import Path

import numpy as np
import pandas as pd

from analytics.core.catalog import load_catalog
from analytics.local.runtime import WATERMARK, fill
from analytics.local.simulator import DAY_MS, MIN_MS, Simulator, generate_day, incidents_between
from analytics.local.store import LocalStore

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "apps.toml")
T0 = 20_400 * DAY_MS  # 2025-11-08, a fixed day


def test_same_seed_same_data_other_seed_other_data() -> None:
    app = CATALOG.get("jobseek")
    a, b = generate_day(app, 20_400, 7), generate_day(app, 20_400, 7)
    pd.testing.assert_frame_equal(a, b)
    c = generate_day(app, 20_400, 8)
    assert not a["value"].equals(c["value"])


def test_every_service_metric_is_simulated() -> None:
    names = set(generate_day(CATALOG.get("jobseek"), 20_400, 7)["metric_name"])
    assert {"Count", "Latency", "IntegrationLatency", "4XXError", "5XXError", "4xx", "5xx",
            "Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions",
            "InitDuration", "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits",
            "ThrottledRequests", "SuccessfulRequestLatency", "CPUUtilization",
            "DatabaseConnections", "ReadLatency", "WriteLatency", "BucketSizeBytes",
            "NumberOfObjects"} <= names


def test_daily_cycle_and_lognormal_latency() -> None:
    f = generate_day(CATALOG.get("jobseek"), 20_400, 7)  # a weekday
    count = f[(f.metric_name == "Count") & f.dims.str.contains("jobseek-public")]
    hour = (count.ts_ms % DAY_MS) // 3_600_000
    assert count[hour == 15].value.mean() > 3 * count[hour == 3].value.mean()
    lat = f[(f.metric_name == "Latency") & f.dims.str.contains("jobseek-public")].value
    assert lat.min() > 0 and np.percentile(lat, 99) > 2 * np.median(lat)  # long right tail


def test_each_week_has_the_three_incidents_and_they_show() -> None:
    app = CATALOG.get("ilikeyacut")
    incs = incidents_between(app, T0, T0 + 14 * DAY_MS, seed=7)
    assert {i.kind for i in incs} == {"error_burst", "throttling", "slow_deploy"}
    burst = next(i for i in incs if i.kind == "error_burst")
    day = generate_day(app, burst.start_ms // DAY_MS, 7)
    e5 = day[day.metric_name == "5xx"]
    inside = e5[(e5.ts_ms >= burst.start_ms) & (e5.ts_ms < burst.end_ms)].value.sum()
    count = day[(day.metric_name == "Count")]
    n_in = count[(count.ts_ms >= burst.start_ms) & (count.ts_ms < burst.end_ms)].value.sum()
    assert inside / n_in > 0.04  # ~9 % errors during the burst, ~0.15 % otherwise


def _all_rows(store: LocalStore) -> pd.DataFrame:
    return store.cursor().execute(
        "SELECT s.namespace, s.metric_name, s.dims, ts_ms, value FROM samples "
        "JOIN series s ON s.id = series_id ORDER BY 1, 2, 3, 4, 5").df()


def test_gap_filling_equals_one_go(tmp_path: Path) -> None:
    sim = Simulator(CATALOG, 7)
    end = T0 + DAY_MS // 2
    one = LocalStore(tmp_path / "one.duckdb")
    pieces = LocalStore(tmp_path / "pieces.duckdb")
    for store in (one, pieces):
        store.set_meta(WATERMARK, str(end - DAY_MS))
    fill(one, sim, until_ms=end, history_days=1)
    for t in (end - DAY_MS // 2, end - 7 * MIN_MS - 13_000, end - 2_500, end):
        fill(pieces, Simulator(CATALOG, 7), until_ms=t, history_days=1)  # a "restart" each time
    pd.testing.assert_frame_equal(_all_rows(one), _all_rows(pieces))
    assert fill(pieces, sim, until_ms=end, history_days=1) == 0  # nothing left to fill


def test_restart_keeps_history(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = LocalStore(path)
    fill(store, Simulator(CATALOG, 7), until_ms=T0, history_days=1)
    n = store.sample_count()
    store.close()
    reopened = LocalStore(path)
    assert reopened.sample_count() == n
    added = fill(reopened, Simulator(CATALOG, 7), until_ms=T0 + 10 * MIN_MS, history_days=1)
    assert 0 < added < n / 50
