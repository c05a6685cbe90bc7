"""The long views: rollups (old days) and the live sources (recent days) on one axis, each day
read from exactly one place, saying where each part came from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.core.periods import TimeRange, history_range
from analytics.pipeline.history import (
    ROLLUPS,
    Segment,
    cost_days,
    metric_days,
    overview_history,
    plan,
)
from analytics.pipeline.model import Rollup, backfill_request
from analytics.pipeline.service import execute
from analytics.sources import Runtime
from tests.pipeline.conftest import DAYS, HTTP_API, RAW, TODAY, Clock

LIVE = "CloudWatch (local twin)"
SEAM = DAYS[3]  # rollups hold DAYS[0..2]; DAYS[3..] come from the live source


def _backfill(rt: Runtime, first: date, last: date) -> None:
    record = execute(rt, backfill_request(first, last, today=TODAY), today=TODAY, run_id="bf",
                     clock=Clock(datetime(2026, 3, 10, 3, tzinfo=UTC)))
    assert record.status == "succeeded", record.error


def _requests(frame: pd.DataFrame, app: str) -> pd.Series:
    rows = frame[(frame["app"] == app) & (frame["metric"] == "Count") & (frame["stat"] == "Sum")]
    return rows.groupby(rows["timestamp"].dt.date)["value"].sum()


def test_the_seam_has_no_gap_and_no_double_counted_day(rt: Runtime) -> None:
    # GIVEN rollups for the first three days only
    _backfill(rt, DAYS[0], DAYS[2])
    start, end = DAYS[0] - timedelta(days=2), DAYS[-1] + timedelta(days=1)
    # WHEN the long view reads every day of the range
    st = metric_days(rt, list(rt.catalog.apps), start=start, end=end, today=TODAY)
    # THEN each (app, resource, metric, stat, day) appears once
    keys = st.frame[["app", "resource", "metric", "stat", "timestamp"]]
    assert not keys.duplicated().any()
    # AND every day with samples is there: the requests per day equal the raw sums per day
    got = _requests(st.frame, "ilikeyacut")
    assert list(got.index) == DAYS
    for day in DAYS:
        assert got[day] == RAW.values("Count", HTTP_API, day).sum(), day
    # AND the total over the seam is the raw total: no gap, nothing twice
    assert got.sum() == sum(RAW.values("Count", HTTP_API, d).sum() for d in DAYS)
    # AND the segments say where each part came from, in order, covering the range once
    assert st.sources["ilikeyacut"] == [
        Segment("no data", start, DAYS[0]), Segment(ROLLUPS, DAYS[0], SEAM),
        Segment(LIVE, SEAM, end)]


def test_rollup_days_are_read_from_the_rollups(rt: Runtime) -> None:
    # GIVEN a stored rollup whose request count differs from the live source's
    _backfill(rt, DAYS[0], DAYS[2])
    (r,) = rt.sources.rollups.get_rollups(["ilikeyacut"], start=DAYS[1],
                                          end=DAYS[1] + timedelta(days=1))
    marked = tuple((res, m, s, 1234.0 if (m, s) == ("Count", "Sum") else v)
                   for res, m, s, v in r.metrics)
    rt.sources.rollups.put_rollups([replace(r, metrics=marked)])
    rt.cache.reset()
    # WHEN the long view reads that day and a live one
    st = metric_days(rt, list(rt.catalog.apps), start=DAYS[0], end=DAYS[-1] + timedelta(1),
                     today=TODAY)
    # THEN the rolled-up day shows the rollup's value, the live day the raw sum
    got = _requests(st.frame, "ilikeyacut")
    assert got[DAYS[1]] == 1234.0
    assert got[DAYS[4]] == RAW.values("Count", HTTP_API, DAYS[4]).sum()


def test_a_hole_in_the_rollups_is_filled_from_the_live_source() -> None:
    # GIVEN rollups for days 0, 1 and 3 of a range (day 2 missing) and a live source keeping all
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(6)]
    rolled = [Rollup("a", d) for d in (days[0], days[1], days[3])]
    # WHEN the read is planned
    p = plan(["a"], rolled, start=days[0], end=days[-1], live_floor=date(2025, 1, 1))
    # THEN live starts at the hole, and the rolled-up days stay the rollups'
    assert p.live_start == days[2]
    assert p.rolled["a"] == {days[0], days[1], days[3]}
    # AND a live source that no longer keeps the hole starts at what it keeps
    assert plan(["a"], rolled, start=days[0], end=days[-1], live_floor=days[4]).live_start \
        == days[4]
    # AND complete rollups need no live read at all
    full = [Rollup("a", d) for d in days[:-1]]
    assert plan(["a"], full, start=days[0], end=days[-1], live_floor=days[0]).live_start is None


def test_costs_stitch_the_same_way(rt: Runtime) -> None:
    # GIVEN rollups (costs included) for the first three days
    _backfill(rt, DAYS[0], DAYS[2])
    start, end = DAYS[0], DAYS[-1] + timedelta(days=1)
    # WHEN the cost history is read
    st = cost_days(rt, list(rt.catalog.apps), start=start, end=end, today=TODAY)
    # THEN each (day, service, app) appears once and the total is the line items' total
    assert not st.frame[["start", "service", "app"]].duplicated().any()
    store = rt.sources.rollups.store  # type: ignore[attr-defined]  # the local source's store
    row = store.cursor().execute(
        "SELECT sum(unblended_usd) FROM cost_items WHERE day >= ? AND day < ?",
        [start, end]).fetchone()
    assert st.frame["amount"].sum() == pytest.approx(row[0])
    assert st.sources["jobseek"] == [Segment(ROLLUPS, start, SEAM),
                                     Segment("Cost Explorer (local twin)", SEAM, end)]


def test_the_overview_tiles_over_a_long_range_are_the_raw_totals(rt: Runtime) -> None:
    # GIVEN rollups for three days and live samples after them
    _backfill(rt, DAYS[0], DAYS[2])
    tr = history_range("90d", datetime(2026, 3, 10, 12, tzinfo=UTC))
    # WHEN the Overview's 90-day view is built
    hist = overview_history(rt, apps=list(rt.catalog.apps), tr=tr, today=TODAY)
    # THEN the requests tile is the sum of every raw Count sample, the p95 tile the worst day
    (ov,) = [a for a in hist.result.apps if a.app.id == "ilikeyacut"]
    requests = ov.tile("requests")
    assert requests.value == sum(RAW.values("Count", HTTP_API, d).sum() for d in DAYS)
    assert requests.previous is None  # nothing stored 90 days earlier
    p95 = ov.tile("p95")
    assert p95.value == pytest.approx(max(np.percentile(RAW.values("Latency", HTTP_API, d), 95)
                                          for d in DAYS))
    assert "worst day" in p95.help
    # AND the caption's segments cover the window only (the store has no samples after 03-07)
    segs = hist.sources["ilikeyacut"]
    assert segs[0].start == tr.start.date() and segs[-1].end == tr.end.date()
    assert [(s.source, s.start, s.end) for s in segs[1:]] == [
        (ROLLUPS, DAYS[0], SEAM), (LIVE, SEAM, DAYS[-1] + timedelta(days=1)),
        ("no data", DAYS[-1] + timedelta(days=1), TODAY)]


def test_history_ranges_are_whole_days_ending_today() -> None:
    # GIVEN a moment on 2026-03-10
    now = datetime(2026, 3, 10, 15, 42, tzinfo=UTC)
    # WHEN the long presets are resolved
    # THEN they end at today's midnight, span N days and have one bucket per day
    for preset, days in (("90d", 90), ("1y", 365), ("2y", 730)):
        tr = history_range(preset, now)
        assert tr.end == datetime(2026, 3, 10, tzinfo=UTC)
        assert (tr.end - tr.start).days == days and tr.period == 86_400
        assert isinstance(tr, TimeRange) and tr.label == preset
