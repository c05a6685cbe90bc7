"""The pipeline's service: the local daily catch-up, the backfill button, who sees what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from analytics.core import access
from analytics.pipeline.local import LocalReports, LocalRunner
from analytics.pipeline.model import backfill_request, week_request
from analytics.pipeline.service import (
    catch_up,
    delivered_reports,
    due_requests,
    execute,
    recent_runs,
    report_bytes,
    request_backfill,
)
from analytics.sources import Runtime
from tests.pipeline.conftest import DAYS, TODAY, Clock

ADMIN = access.Principal("ada", "admin")
VIEWER = access.Principal("vic", "viewer", frozenset({"jobseek"}))


def test_the_daily_catch_up_fills_missing_days_then_yesterday_and_mondays_last_week(
        rt: Runtime) -> None:
    # GIVEN rollups for 2026-03-02..03 only, and "today" Monday 2026-03-09
    execute(rt, backfill_request(DAYS[0], DAYS[1], today=TODAY), today=TODAY, run_id="seed")
    monday = date(2026, 3, 9)
    # WHEN the catch-up plans its runs over a 7-day history
    plan = due_requests(rt, today=monday, history_days=7)
    # THEN the missing days come first (no packs), then yesterday, then last week with its pack
    assert [(r.mode, r.start, r.end) for r in plan] == [
        ("backfill", date(2026, 3, 4), date(2026, 3, 8)),
        ("day", date(2026, 3, 8), monday),
        ("week", date(2026, 3, 2), monday)]
    assert [(s.kind, s.label) for s in plan[2].reports] == [("week", "2026-W10")]


def test_the_catch_up_runs_once_a_day(rt: Runtime) -> None:
    # GIVEN a marker store that remembers the day of the last complete catch-up
    marker: dict[str, str] = {}
    tuesday = date(2026, 3, 10)
    # WHEN the hourly job fires twice the same day
    first = catch_up(rt, today=tuesday, history_days=3, done_on=lambda: marker.get("d"),
                     mark_done=lambda d: marker.__setitem__("d", d))
    second = catch_up(rt, today=tuesday, history_days=3, done_on=lambda: marker.get("d"),
                      mark_done=lambda d: marker.__setitem__("d", d))
    # THEN the first runs (all succeed) and the second does nothing
    assert first and all(r.status == "succeeded" for r in first)
    assert second == [] and marker == {"d": "2026-03-10"}


def test_the_backfill_button_runs_in_the_background_on_the_local_backend(rt: Runtime) -> None:
    # GIVEN the local runner bound to this runtime, and an admin
    runner = rt.sources.pipeline_runner
    assert isinstance(runner, LocalRunner)
    runner.bind(lambda request, trigger, run_id: execute(
        rt, request, today=TODAY, trigger=trigger, run_id=run_id,
        clock=Clock(datetime(2026, 3, 10, tzinfo=UTC))))
    access.set_principal(ADMIN)
    # WHEN 40 days are backfilled from the page
    ids = request_backfill(rt, DAYS[0] - timedelta(days=34), DAYS[-1], today=TODAY)
    for t in runner.threads:
        t.join(timeout=60)
    # THEN one run per 31-day chunk ran, and each day has its rollups
    assert len(ids) == 2
    runs = {r.run_id: r for r in recent_runs(rt).value}
    assert {runs[i].status for i in ids} == {"succeeded"}
    assert {runs[i].trigger for i in ids} == {"dashboard"}
    got = rt.sources.rollups.get_rollups(["jobseek"], start=DAYS[0] - timedelta(days=34),
                                         end=DAYS[-1] + timedelta(days=1))
    assert len(got) == 40


def test_viewers_see_neither_runs_nor_delivered_packs(rt: Runtime) -> None:
    # GIVEN a viewer of one app
    access.set_principal(VIEWER)
    # WHEN they reach the pipeline's admin functions
    # THEN each is refused
    with pytest.raises(access.AccessDenied):
        recent_runs(rt)
    with pytest.raises(access.AccessDenied):
        request_backfill(rt, DAYS[0], DAYS[1], today=TODAY)
    with pytest.raises(access.AccessDenied):
        delivered_reports(rt)
    # AND an admin limited to some apps may not read the packs, which hold every app
    access.set_principal(access.Principal("lim", "admin", frozenset({"jobseek"})))
    with pytest.raises(access.AccessDenied):
        report_bytes(rt, "reports/weekly/cost-review-2026-W10.html")


def test_delivered_packs_are_listed_newest_first_with_their_kind(rt: Runtime) -> None:
    # GIVEN a weekly run delivered a pack
    execute(rt, week_request("2026-W10", today=TODAY), today=TODAY, run_id="w")
    access.set_principal(ADMIN)
    # WHEN an admin of every app lists them
    packs = delivered_reports(rt)
    # THEN both formats are there with kind and label, and the bytes are the file's
    assert {(p.kind, p.label, p.fmt) for p in packs} == {
        ("weekly", "2026-W10", "html"), ("weekly", "2026-W10", "md")}
    html = next(p for p in packs if p.fmt == "html")
    assert report_bytes(rt, html.key).startswith(b"<!DOCTYPE html>")
    with pytest.raises(ValueError, match="not a delivered report"):
        report_bytes(rt, "analytics.duckdb")


def test_local_report_keys_never_leave_the_data_folder(tmp_path: Path) -> None:
    # GIVEN the local reports store
    reports = LocalReports(root=tmp_path)
    # WHEN a key tries to climb out
    # THEN it is refused before any file is touched
    for bad in ("../x", "/etc/passwd", "reports/../../x", ""):
        with pytest.raises(ValueError, match="invalid report key"):
            reports.put(bad, b"x", content_type="text/plain")
    assert reports.put("reports/weekly/a.html", b"<p>", content_type="text/html").endswith(
        "reports/weekly/a.html")
