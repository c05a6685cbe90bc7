"""The weekly cost-review pack on the local backend."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from analytics.cli import report as report_cli
from analytics.core import access
from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.costs import queries as cost_queries
from analytics.reports.cost_review import (
    ReportError,
    build_week_report,
    html_download,
    parse_week,
    week_label,
    write_report,
)
from analytics.sources import Runtime, build_runtime, set_runtime
from tests.conftest import NOW, frozen_clock, local_env
from tests.costs.conftest import ROOT

#: The week before the suite's "now" (NOW is Thursday 2026-11-26, in W48).
LAST_WEEK = week_label(NOW.date() - timedelta(days=7))


def test_parse_iso_weeks() -> None:
    assert parse_week("2026-W47") == (date(2026, 11, 16), date(2026, 11, 23))
    assert parse_week("2026-W01") == (date(2025, 12, 29), date(2026, 1, 5))
    assert week_label(date(2026, 11, 22)) == "2026-W47"
    for bad in ("2026-47", "W47", "2026-W54", ""):
        with pytest.raises(ReportError, match=r"^week"):
            parse_week(bad)


def test_future_and_too_old_weeks_are_refused(fixed_rt: Runtime) -> None:
    with pytest.raises(ReportError, match="no complete day"):
        build_week_report(fixed_rt, "2026-W49", today=date(2026, 11, 30))
    with pytest.raises(ReportError, match="13 months"):
        build_week_report(fixed_rt, "2025-W01", today=date(2026, 11, 30))


def test_report_for_a_week_on_the_local_backend(fixed_rt: Runtime, tmp_path: Path) -> None:
    html_path, md_path = write_report(
        fixed_rt, "2026-W47", out_dir=tmp_path, today=date(2026, 11, 26)
    )
    assert html_path.name == "cost-review-2026-W47.html" and html_path.is_file()
    html = html_path.read_text(encoding="utf-8")
    # self-contained: plotly.js inlined, nothing loaded from elsewhere
    assert "Plotly.newPlot" in html and len(html) > 1_000_000
    assert not re.search(r"<script[^>]+src=", html)
    for text in ("2026-11-16", "2026-11-22", "iLikeYaCut", "JobSeek", "2026-W47"):
        assert text in html, text
    md = md_path.read_text(encoding="utf-8")
    # totals equal the query results for the same days
    frame = cost_queries.costs(fixed_rt, date(2026, 11, 16), date(2026, 11, 23)).value
    total = frame["amount"].sum()
    assert f"**Total: ${total:,.2f}**" in md
    prev = cost_queries.costs(fixed_rt, date(2026, 11, 9), date(2026, 11, 16)).value
    assert f"(previous week ${prev['amount'].sum():,.2f}" in md
    for app, name in (("ilikeyacut", "iLikeYaCut"), ("jobseek", "JobSeek")):
        week = frame[frame["app"] == app]["amount"].sum()
        before = prev[prev["app"] == app]["amount"].sum()
        assert f"| {app} | {name} | {week:.2f} | {before:.2f} |" in md
    assert "## Anomalies" in md and "## Budget status (November 2026" in md


def test_partial_week_and_viewer_scope(fixed_rt: Runtime) -> None:
    access.set_principal(access.Principal("js", "viewer", frozenset({"jobseek"})))
    rep = build_week_report(fixed_rt, "2026-W48", today=date(2026, 11, 26))
    assert rep.period.end == date(2026, 11, 26) and any("Partial week" in n for n in rep.notes)
    assert list(rep.per_app["app"]) == ["jobseek"] and rep.untagged_share is None
    assert rep.total == pytest.approx(rep.daily[rep.period.mask(rep.daily["start"])]
                                      ["amount"].sum())


def test_page_download_binds_the_viewer_in_its_own_thread(installed_runtime: Runtime) -> None:
    week = LAST_WEEK
    build = html_download(installed_runtime, week,
                          principal=access.Principal("js", "viewer", frozenset({"jobseek"})))
    html = build().decode()
    assert "JobSeek" in html and "iLikeYaCut" not in html and "Untagged" not in html


@pytest.fixture
def cli_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A fresh local runtime on the frozen clock, installed as the process runtime the CLI gets
    (the CLI stops it when it is done, as it stops the one it builds from a shell)."""
    clock = frozen_clock()
    rt = build_runtime(load_settings(local_env(tmp_path / "data", SIMULATOR_HISTORY_DAYS="1"),
                                     secrets={}), cache=QueryCache(clock=clock), clock=clock)
    set_runtime(rt)
    yield rt
    set_runtime(None)
    rt.stop()


def test_cli_writes_both_files(tmp_path: Path, cli_runtime: Runtime,
                               capsys: pytest.CaptureFixture[str]) -> None:
    week = LAST_WEEK
    code = report_cli.main(["--week", week, "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / f"cost-review-{week}.html").is_file()
    assert (tmp_path / "out" / f"cost-review-{week}.md").is_file()
    # the module as a shell runs it; a malformed week fails before any clock is read
    env = {"ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(tmp_path / "shell"),
           "SIMULATOR_LIVE": "false", "SIMULATOR_HISTORY_DAYS": "1", "INGEST_ENABLED": "false",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    bad = subprocess.run([sys.executable, "-m", "analytics.cli.report", "--week", "2026-47"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "expected an ISO week" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_cli_default_week_is_last_week_on_the_runtimes_clock(
        tmp_path: Path, cli_runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a runtime whose "now" is Thursday 2026-11-26 (ISO week 2026-W48)
    assert cli_runtime.now() == NOW
    # WHEN the CLI runs without --week
    code = report_cli.main(["--out", str(tmp_path / "out")])
    # THEN it writes the pack of the week before, 2026-W47, and prints both paths
    assert code == 0, capsys.readouterr().err
    written = capsys.readouterr().out.split()
    assert [Path(p).name for p in written] == ["cost-review-2026-W47.html",
                                               "cost-review-2026-W47.md"]
    assert all(Path(p).is_file() for p in written)
