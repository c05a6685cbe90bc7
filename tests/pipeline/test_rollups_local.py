"""Rollups on the local backend: correct values, idempotent re-runs, backfills, packs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from analytics.local.store import LocalStore
from analytics.pipeline.model import (
    PipelineError,
    Rollup,
    RunRequest,
    backfill_request,
    day_request,
    parse_event,
    week_request,
)
from analytics.pipeline.service import execute
from analytics.sources import Runtime
from tests.pipeline.conftest import AUTH_FN, D0, DAYS, HTTP_API, RAW, REST_API, TODAY, Clock, ms

RUN_AT = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


def _run(rt: Runtime, request: RunRequest, run_id: str = "r1") -> None:
    record = execute(rt, request, today=TODAY, run_id=run_id, clock=Clock(RUN_AT))
    assert record.status == "succeeded", record.error


def _rollup(rt: Runtime, app: str, day: date) -> Rollup:
    (r,) = rt.sources.rollups.get_rollups([app], start=day, end=day + timedelta(days=1))
    return r


def _value(r: Rollup, resource: str, metric: str, stat: str) -> float:
    (v,) = [v for res, m, s, v in r.metrics if (res, m, s) == (resource, metric, stat)]
    return v


def _store(rt: Runtime) -> LocalStore:
    store = getattr(rt.sources.rollups, "store", None)
    assert isinstance(store, LocalStore)
    return store


def test_daily_percentiles_and_sums_equal_the_raw_values(rt: Runtime) -> None:
    # GIVEN raw samples on 2026-03-03 for both apps
    day = D0 + timedelta(days=1)
    # WHEN the pipeline rolls that day up
    _run(rt, day_request(day, today=TODAY))
    # THEN each p95 is numpy's percentile of that day's raw latencies (linear interpolation)
    il, js = _rollup(rt, "ilikeyacut", day), _rollup(rt, "jobseek", day)
    for r, api, dims in ((il, "ilikeyacut-api", HTTP_API), (js, "jobseek-public", REST_API)):
        lat = RAW.values("Latency", dims, day)
        assert _value(r, api, "Latency", "p95") == pytest.approx(np.percentile(lat, 95))
        assert _value(r, api, "Latency", "p99") == pytest.approx(np.percentile(lat, 99))
        assert _value(r, api, "Latency", "Average") == pytest.approx(lat.mean())
        # AND the sums are the raw sums
        assert _value(r, api, "Count", "Sum") == RAW.values("Count", dims, day).sum()
    assert _value(il, "ilikeyacut-api", "5XXError", "Sum") == RAW.values("5xx", HTTP_API,
                                                                         day).sum()
    assert _value(il, "ilikeyacut-auth", "Errors", "Sum") == RAW.values("Errors", AUTH_FN,
                                                                        day).sum()
    # AND the custom-metric sums per dimension set are the raw sums
    c = RAW.custom[(RAW.custom["ts_ms"] >= ms(day)) & (RAW.custom["ts_ms"] < ms(day, 86_400))]
    assert il.custom["Signups"] == c[c["dims"] == ""]["value"].sum()
    assert il.custom["Signups|Plan=pro"] == c[c["dims"] == "Plan=pro"]["value"].sum()


def test_daily_costs_are_the_days_line_items_per_service(rt: Runtime) -> None:
    # GIVEN the simulated cost line items of 2026-03-04
    day = D0 + timedelta(days=2)
    items = _store(rt).cursor().execute(
        "SELECT service, sum(unblended_usd), sum(amortized_usd) FROM cost_items "
        "WHERE day = ? AND app_tag = 'jobseek' GROUP BY service", [day]).fetchall()
    # WHEN the day is rolled up
    _run(rt, day_request(day, today=TODAY))
    # THEN the app's rollup holds both cost metrics per service, to the cent and beyond
    r = _rollup(rt, "jobseek", day)
    assert r.costs["UnblendedCost"] == pytest.approx({s: u for s, u, _ in items})
    assert r.costs["AmortizedCost"] == pytest.approx({s: a for s, _, a in items})
    # AND untagged spend lands in the unassigned pseudo-app
    unassigned = _rollup(rt, "(unassigned)", day)
    assert unassigned.metrics == () and sum(unassigned.costs["UnblendedCost"].values()) > 0


def test_rerunning_a_day_replaces_its_rollups(rt: Runtime) -> None:
    # GIVEN a day rolled up once
    day = D0
    _run(rt, day_request(day, today=TODAY), "first")
    first = _rollup(rt, "ilikeyacut", day)
    rows = _store(rt).count_rows("rollups")
    # WHEN it is rolled up again (a retried step, a re-run week, a backfill over it)
    _run(rt, day_request(day, today=TODAY), "second")
    _run(rt, backfill_request(day, day + timedelta(days=1), today=TODAY), "third")
    # THEN the same keys hold the same values: nothing duplicated
    assert _rollup(rt, "ilikeyacut", day).metrics == first.metrics
    assert _store(rt).count_rows("rollups") == rows + 3  # only the second day was added
    runs = rt.sources.rollups.list_runs(limit=10)
    assert sorted(r.run_id for r in runs) == ["first", "second", "third"]


def test_a_backfill_stores_one_rollup_per_app_and_day(rt: Runtime) -> None:
    # GIVEN an empty rollups table
    # WHEN the six days are backfilled
    record = execute(rt, backfill_request(DAYS[0], DAYS[-1], today=TODAY), today=TODAY,
                     run_id="bf", clock=Clock(RUN_AT))
    # THEN every catalog app has exactly one rollup per day, and the record says so
    got = rt.sources.rollups.get_rollups(["ilikeyacut", "jobseek"], start=DAYS[0],
                                         end=DAYS[-1] + timedelta(days=1))
    assert sorted((r.app, r.day) for r in got) == sorted(
        (a, d) for a in ("ilikeyacut", "jobseek") for d in DAYS)
    assert record.counts["days"] == 6 and record.counts["reports"] == 0
    assert record.counts["rollups"] == 6 * 3  # two apps and the unassigned costs
    assert set(record.durations_s) == {"fetch", "aggregate", "report", "store"}


def test_a_long_backfill_runs_in_chunks_and_packs_go_with_the_last() -> None:
    # GIVEN a 70-day request with a pack
    req = week_request("2026-W09", today=TODAY)
    long = RunRequest("backfill", date(2025, 12, 1), date(2026, 2, 9), req.reports)
    # WHEN it is cut into passes
    chunks = long.chunks()
    # THEN they tile the range without overlap and only the last builds the pack
    assert [(c.start, c.end) for c in chunks] == [
        (date(2025, 12, 1), date(2026, 1, 1)), (date(2026, 1, 1), date(2026, 2, 1)),
        (date(2026, 2, 1), date(2026, 2, 9))]
    assert [c.reports for c in chunks] == [(), (), req.reports]


def test_only_complete_days_are_rolled_up() -> None:
    # GIVEN "today" 2026-03-10
    # WHEN a run asks for today or a backfill reaching it
    # THEN it is refused with a message naming the day
    with pytest.raises(PipelineError, match="2026-03-10 is not a complete day"):
        day_request(TODAY, today=TODAY)
    with pytest.raises(PipelineError, match="not a complete day"):
        backfill_request(D0, TODAY, today=TODAY)
    with pytest.raises(PipelineError, match="before it starts"):
        backfill_request(D0, D0 - timedelta(days=1), today=TODAY)


def test_events_default_to_yesterday_and_last_week_and_say_what_is_wrong() -> None:
    # GIVEN the schedules' inputs and some bad ones
    # WHEN they are parsed on 2026-03-10 (a Tuesday)
    day = parse_event({"mode": "day"}, today=TODAY)
    week = parse_event({"mode": "week"}, today=TODAY)
    back = parse_event({"mode": "backfill", "from": "2026-03-01", "to": "2026-03-03"},
                       today=TODAY)
    # THEN the defaults are yesterday and the last ISO week, with their packs
    assert (day.start, day.end, day.reports) == (date(2026, 3, 9), TODAY, ())
    assert (week.start, week.end) == (date(2026, 3, 2), date(2026, 3, 9))
    assert [(r.kind, r.label) for r in week.reports] == [("week", "2026-W10")]
    assert (back.start, back.end, back.reports) == (date(2026, 3, 1), date(2026, 3, 4), ())
    assert [(r.kind, r.label) for r in parse_event(
        {"mode": "day", "date": "2026-02-28"}, today=TODAY).reports] == [("month", "2026-02")]
    with pytest.raises(PipelineError, match="needs 'from' and 'to'"):
        parse_event({"mode": "backfill"}, today=TODAY)
    with pytest.raises(PipelineError, match="not a date"):
        parse_event({"mode": "day", "date": "03/02/2026"}, today=TODAY)
    with pytest.raises(PipelineError, match="ISO week"):
        parse_event({"mode": "week", "week": "2026-47"}, today=TODAY)
    with pytest.raises(PipelineError):
        parse_event({"mode": "hourly"}, today=TODAY)


def test_a_week_run_delivers_the_weekly_pack_and_its_summary(rt: Runtime) -> None:
    # GIVEN the store's costs for 2026-W10 and the week before
    # WHEN the weekly run (a Monday's schedule) runs
    record = execute(rt, week_request("2026-W10", today=TODAY), today=TODAY, run_id="w",
                     clock=Clock(RUN_AT))
    # THEN the pack is in .data/reports/weekly and the summary names it with its link
    assert record.status == "succeeded", record.error
    keys = {r.key for r in rt.sources.reports.list("reports/")}
    assert {"reports/weekly/cost-review-2026-W10.html",
            "reports/weekly/cost-review-2026-W10.md"} <= keys
    html = rt.sources.reports.get("reports/weekly/cost-review-2026-W10.html").decode()
    assert "Cost review 2026-W10" in html and "2026-03-02 to 2026-03-08" in html
    log = rt.sources.reports.get("reports/notifications.log").decode()
    assert "Cost review 2026-W10: $" in log and "cost-review-2026-W10.html" in log
    assert record.reports and record.reports[0].endswith("cost-review-2026-W10.html")


def test_the_last_day_of_a_month_brings_the_monthly_pack(rt: Runtime) -> None:
    # GIVEN costs for January and February 2026
    # WHEN the run of 2026-02-28 (the schedule on March 1st) runs
    _run(rt, day_request(date(2026, 2, 28), today=TODAY))
    # THEN February's pack compares with January, from the same line items
    md = rt.sources.reports.get("reports/monthly/cost-review-2026-02.md").decode()
    feb = _store(rt).cursor().execute(
        "SELECT sum(unblended_usd) FROM cost_items WHERE day >= '2026-02-01' "
        "AND day < '2026-03-01'").fetchone()
    assert feb is not None
    assert "# Cost review 2026-02 (2026-02-01 to 2026-02-28)" in md
    assert f"**Total: ${feb[0]:,.2f}** (previous month $" in md


def test_a_failed_step_is_recorded_with_its_error(rt: Runtime,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a rollups store that fails to write
    def boom(rollups: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(rt.sources.rollups, "put_rollups", boom)
    # WHEN a day runs
    record = execute(rt, day_request(D0, today=TODAY), today=TODAY, run_id="f",
                     clock=Clock(RUN_AT))
    # THEN the run is recorded as failed with the error, and the record is stored
    assert record.status == "failed" and record.error == "OSError: disk full"
    assert rt.sources.rollups.list_runs(limit=1)[0].status == "failed"
