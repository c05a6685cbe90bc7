"""The business-metric feeder: deterministic history through the sink, exact gap filling by
watermark, and live points that really cross the HTTP endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.core.catalog import Catalog, load_catalog
from analytics.local.business_feeder import (
    GRID_MS,
    WATERMARK,
    BusinessFeeder,
    catalog_series,
)
from analytics.local.custom_sink import DuckDBSink
from analytics.local.ingest_server import IngestServer, build_local_resolver
from analytics.local.simulator import DAY_MS
from analytics.local.store import LocalStore
from ingest import keys as ingest_keys
from tests.conftest import NOW_MS, ROOT, ticking_clock

CATALOG: Catalog = load_catalog(ROOT / "apps.toml")
T0 = 20_782 * DAY_MS  # 2026-11-25 00:00 UTC, a Wednesday


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[DuckDBSink]:
    store = LocalStore(tmp_path / "feeder.duckdb")
    yield DuckDBSink(store)
    store.close()


def feeder(sink: DuckDBSink, seed: int = 7, now_ms: int = T0, days: int = 2,
           step_s: float = 5.0) -> BusinessFeeder:
    clock = {"now": now_ms / 1000}
    f = BusinessFeeder(CATALOG, sink, seed=seed, history_days=days, step_s=step_s,
                       clock=lambda: clock["now"])
    f.clock_state = clock  # type: ignore[attr-defined]
    return f


def rows(sink: DuckDBSink) -> pd.DataFrame:
    return sink.store.cursor().execute(
        "SELECT metric_id, sort_key::VARCHAR AS sk, ts_ms, dims, value FROM custom_metrics "
        "ORDER BY metric_id, sort_key").df()


def test_every_app_has_active_users_and_its_own_counters() -> None:
    by_app: dict[str, set[str]] = {}
    for s in catalog_series(CATALOG):
        by_app.setdefault(s.app, set()).add(s.metric)
    assert by_app == {"ilikeyacut": {"ActiveUsers", "HaircutsGenerated"},
                      "jobseek": {"ActiveUsers", "ApplicationsSent", "JobSearches"}}


def test_history_is_deterministic_by_seed_and_keyed_like_the_lambda(sink: DuckDBSink) -> None:
    a = feeder(sink).history_frame(T0 - DAY_MS, T0)
    b = feeder(sink).history_frame(T0 - DAY_MS, T0)
    c = feeder(sink, seed=8).history_frame(T0 - DAY_MS, T0)
    pd.testing.assert_frame_equal(a, b)
    assert not a["value"].equals(c["value"])
    assert len(a) == 8 * 1440  # 8 series x one point a minute
    for r in a.sample(20, random_state=1).itertuples():
        assert int(r.sort_key) == ingest_keys.sort_key(int(r.ts_ms), r.dims)
        assert r.metric_id == f"{r.app}#{r.metric_name}"


def test_active_users_is_a_slow_gauge_near_its_level(sink: DuckDBSink) -> None:
    f = feeder(sink).history_frame(T0 - 7 * DAY_MS, T0)
    for app, level in (("ilikeyacut", 4_500), ("jobseek", 7_000)):
        au = f[(f.app == app) & (f.metric_name == "ActiveUsers")].sort_values("ts_ms")["value"]
        assert 0.8 * level < au.mean() < 1.2 * level
        assert au.max() / au.min() < 1.06  # a gentle wobble, not a traffic curve
        assert np.abs(np.diff(au.to_numpy())).max() < 0.01 * level  # minute to minute
        assert (au == au.round()).all()  # distinct users are whole numbers


def test_counts_follow_the_daily_cycle(sink: DuckDBSink) -> None:
    f = feeder(sink).history_frame(T0 - DAY_MS, T0)  # 2026-11-24, a Tuesday
    js = f[(f.metric_name == "JobSearches") & (f.dims == "Plan=free")]
    hour = (js.ts_ms % DAY_MS) // 3_600_000
    assert js[hour == 15].value.mean() > 3 * js[hour == 3].value.mean()


def _series_stamps(sink: DuckDBSink) -> dict[str, np.ndarray]:
    frame = sink.store.cursor().execute(
        "SELECT metric_id || '|' || dims AS s, ts_ms FROM custom_metrics ORDER BY s, ts_ms").df()
    return {k: g["ts_ms"].to_numpy() for k, g in frame.groupby("s")}


def test_history_is_per_minute_then_per_step_for_the_last_hour(sink: DuckDBSink) -> None:
    now = T0 + 5 * 3_600_000 + 17_000
    written = feeder(sink, now_ms=now, days=1).fill()
    stamps = _series_stamps(sink)
    assert len(stamps) == 8 and written == 8 * (23 * 60 + 12 * 60 + 3)
    for ts in stamps.values():
        steps = np.diff(ts)
        assert set(steps) == {60_000, 5_000}
        assert ts[-1] == now - 2_000  # the last 5 s grid point
        assert (ts[1:][steps == 5_000] > now - 3_600_000 - 60_000).all()
    assert sink.store.get_meta(WATERMARK) == str(now - 2_000)


def test_a_restart_fills_exactly_the_gap(tmp_path: Path) -> None:
    a = DuckDBSink(LocalStore(tmp_path / "a.duckdb"))
    first = T0 + 2 * 3_600_000 + 5_000
    feeder(a, now_ms=first).fill()
    restarted = feeder(a, now_ms=T0 + 5 * 3_600_000 + 17_000)
    restarted.fill()
    assert restarted.fill() == 0  # nothing new: nothing written
    for ts in _series_stamps(a).values():
        steps = np.diff(ts)
        # No hole (never more than a minute apart) and no overlap (strictly increasing, every
        # minute point preceded by a whole minute): the gap was filled exactly.
        assert set(steps) <= {5_000, 60_000}
        assert ts[0] == first // GRID_MS * GRID_MS - 2 * DAY_MS + GRID_MS
        assert ts[-1] == T0 + 5 * 3_600_000 + 15_000
        assert all(t % GRID_MS == 0 for t in ts[1:][steps == 60_000])
    # the live-resolution stretch after the first start is kept; the restart resumes at a
    # minute boundary after finishing the minute it stopped in
    same = feeder(DuckDBSink(LocalStore(tmp_path / "b.duckdb")), now_ms=first)
    same.fill()
    pd.testing.assert_frame_equal(rows(same.sink).reset_index(drop=True),
                                  rows(a)[rows(a).ts_ms <= first].reset_index(drop=True))


def test_live_points_go_through_the_http_endpoint(sink: DuckDBSink) -> None:
    # 37 s into the previous minute: history (and its last hour at 5 s) ends at 35 s.
    now = NOW_MS // GRID_MS * GRID_MS - GRID_MS + 37_000
    f = feeder(sink, now_ms=now, days=1)
    f.fill()
    server = IngestServer(build_local_resolver(CATALOG, sink, "tok", clock=f.clock), "tok",
                          port=0).start()
    try:
        assert int(sink.store.get_meta(WATERMARK) or 0) == now - 2_000
        assert f.send_due(server.url, "tok") == 0  # nothing due yet
        f.clock_state["now"] += 12  # type: ignore[attr-defined]  # 40 s and 45 s are due
        sent_at = int(f.clock_state["now"] * 1000)  # type: ignore[attr-defined]
        assert f.send_due(server.url, "tok") == 8 * 2
        assert server.statuses[202] == 2  # one POST per app
        assert int(sink.store.get_meta(WATERMARK) or 0) == now + 8_000
        got = sink.store.cursor().execute(
            "SELECT count(*), min(received_ms) FROM custom_metrics WHERE ts_ms > ?",
            [now - 2_000]).fetchone()
        assert got[0] == 16 and got[1] >= sent_at  # stamped by the server when it got them
        f.clock_state["now"] += 30  # type: ignore[attr-defined]  # 50 ... 75 s are due at 79 s
        assert f.send_due(server.url, "tok") == 8 * 2  # 70 s and 75 s are POSTed ...
        assert server.statuses[202] == 4
        late = sink.store.cursor().execute(  # ... 50-65 s, late, were backfilled
            "SELECT count(*) FROM custom_metrics WHERE ts_ms BETWEEN ? AND ?",
            [now + 13_000, now + 28_000]).fetchone()[0]
        assert late == 8 * 4
    finally:
        server.stop()


def test_a_wrong_token_keeps_going_and_a_down_endpoint_is_retried(sink: DuckDBSink) -> None:
    now = NOW_MS // GRID_MS * GRID_MS - GRID_MS + 37_000
    f = feeder(sink, now_ms=now, days=1)
    f.fill()
    server = IngestServer(build_local_resolver(CATALOG, sink, "right", clock=f.clock), "right",
                          port=0).start()
    try:
        f.clock_state["now"] += 5  # type: ignore[attr-defined]
        before = sink.store.get_meta(WATERMARK)
        f.send_due(server.url, "wrong")  # 401 is the caller's bug: logged, points skipped ...
        assert server.statuses[401] == 2
        assert sink.store.get_meta(WATERMARK) != before  # ... not resent forever
        server.stop()
        f.clock_state["now"] += 5  # type: ignore[attr-defined]
        before = sink.store.get_meta(WATERMARK)
        with pytest.raises(Exception, match="cannot reach"):
            f.send_due(server.url, "right")  # endpoint down: transient, raised to the loop
        assert sink.store.get_meta(WATERMARK) == before  # kept for the retry
    finally:
        server.stop()


def test_catch_up_backfills_so_the_first_post_is_on_time(sink: DuckDBSink) -> None:
    now = NOW_MS // GRID_MS * GRID_MS - GRID_MS + 12_000
    f = feeder(sink, now_ms=now, days=1)
    f.fill()
    f.clock_state["now"] += 21  # type: ignore[attr-defined]  # starting late: 15 ... 30 s due
    assert f.catch_up() == 4
    assert int(sink.store.get_meta(WATERMARK) or 0) == now + 18_000
    server = IngestServer(build_local_resolver(CATALOG, sink, "tok", clock=f.clock), "tok",
                          port=0).start()
    try:
        assert f.send_due(server.url, "tok") == 0
        f.clock_state["now"] += 3  # type: ignore[attr-defined]  # the 35 s point is due
        assert f.send_due(server.url, "tok") == 8
        assert server.statuses[202] == 2
    finally:
        server.stop()


def test_the_live_thread_sends_on_its_own(sink: DuckDBSink) -> None:
    clock = ticking_clock()  # the thread and the endpoint agree on "now", which moves
    f = BusinessFeeder(CATALOG, sink, seed=7, history_days=1, step_s=1.0, clock=clock)
    f.fill()
    server = IngestServer(build_local_resolver(CATALOG, sink, "t", clock=clock), "t",
                          port=0).start()
    try:
        f.start_live(server.url, "t")
        deadline = time.monotonic() + 5
        while f.sent < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f.sent >= 16 and server.statuses[202] >= 2
    finally:
        f.stop()
        server.stop()



def test_live_points_are_deterministic_and_equal_what_a_backfill_writes(
        sink: DuckDBSink) -> None:
    t = T0 + 3 * 3_600_000 + 35_000
    live = feeder(sink).live_metrics(t)
    assert live == feeder(sink).live_metrics(t)
    other = feeder(sink, seed=8).live_metrics(t)
    assert [m["value"] for ms in live.values() for m in ms] != [
        m["value"] for ms in other.values() for m in ms]
    feeder(sink, now_ms=t, days=1).fill()
    stored = dict(sink.store.cursor().execute(
        "SELECT metric_id || '|' || dims, value FROM custom_metrics WHERE ts_ms = ?",
        [t]).fetchall())
    sent = {f"{m['applicationId']}#{m['metricName']}|"
            + ",".join(f"{d['name']}={d['value']}" for d in m.get("dimensions", [])): m["value"]
            for ms in live.values() for m in ms}
    assert stored == sent and len(sent) == 8
