"""The doctor on the local backend: the store, the ingest endpoint, the catalog and the alarms;
the CLI's exit code; and the admin-only Setup page showing the same rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from analytics.auth.pages import PAGES, pages_for
from analytics.cli import doctor as cli
from analytics.core import access
from analytics.core.access import Principal
from analytics.doctor.checks import Status
from analytics.doctor.local import LocalDoctor
from analytics.doctor.service import run_doctor, setup_report
from analytics.sources import Runtime
from tests.conftest import frozen_clock, local_env
from tests.helpers import signed_in_app


def _doctor(rt: Runtime, answers: dict[tuple[str, str], int], **env: str) -> LocalDoctor:
    settings = rt.settings.model_copy(update={"ingest_enabled": True, "simulator_live": False,
                                              **env})
    return LocalDoctor(store=rt.local.store if rt.local else None,  # type: ignore[attr-defined]
                       settings=settings,
                       probe=lambda method, url: answers.get((method, url.rsplit("/", 1)[1]), 0))


def test_a_running_local_backend_passes(local_runtime: Runtime) -> None:
    # GIVEN the local store with its simulated history and an endpoint that answers like ours
    doctor = _doctor(local_runtime, {("GET", "health"): 200, ("POST", "metrics"): 401})
    # WHEN the checks run
    rows = {c.name: c for c in doctor.checks(local_runtime.catalog)}
    # THEN the store, the endpoint (refusing a request without the token) and the catalog pass
    assert all(c.status is Status.PASS for c in rows.values()), rows
    assert "samples, newest" in rows["Local store"].found
    assert "refuses a request without the token (401)" in rows["Local ingest endpoint"].found
    assert "2 apps" in rows["Catalog"].found
    assert "13 alarm rules" in rows["jobseek: resources"].found


@pytest.mark.parametrize(("answers", "says"), [
    ({}, "answered nothing"),
    ({("GET", "health"): 200, ("POST", "metrics"): 202}, "answered 202 without a token"),
])
def test_a_down_or_open_endpoint_fails(local_runtime: Runtime,
                                       answers: dict[tuple[str, str], int], says: str) -> None:
    doctor = _doctor(local_runtime, answers)
    row = next(c for c in doctor.checks(local_runtime.catalog)
               if c.name == "Local ingest endpoint")
    assert row.status is Status.FAIL and says in row.found and row.fix


def test_the_service_adds_the_alarm_rows_and_the_exit_code(local_runtime: Runtime) -> None:
    # GIVEN the local runtime (its endpoint is off in tests: a ⚠, not a ✗)
    local_runtime.cache.reset()
    # WHEN the doctor runs
    report = run_doctor(local_runtime)
    rows = {c.name: c for c in report.checks}
    # THEN the alarms are found as the Alarms page finds them, and nothing fails
    assert rows["jobseek: alarms"].status is Status.PASS
    assert "found by prefix 'jobseek-'" in rows["jobseek: alarms"].found
    assert rows["Local ingest endpoint"].status is Status.WARN
    assert report.exit_code == 0 and report.backend == "local"


def test_the_cli_without_a_store_says_so_and_exits_1_when_nothing_listens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a fresh data directory and no local endpoint on a free port
    from tests.fake_endpoint import free_port

    env = local_env(tmp_path, INGEST_ENABLED="true", INGEST_PORT=str(free_port()))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # WHEN `python -m analytics.doctor` runs
    code = cli.main([], clock=frozen_clock())
    out = capsys.readouterr().out
    # THEN the store is a ⚠ saying what to do, the endpoint a ✗, and the exit code 1
    assert code == 1
    assert "⚠ Local store" in out and "start the dashboard once" in out
    assert "✗ Local ingest endpoint" in out and "answered nothing" in out
    assert not (tmp_path / "analytics.duckdb").exists()  # the doctor creates nothing


def test_the_setup_page_is_for_admins_and_shows_the_rows(installed_runtime: Runtime) -> None:
    # GIVEN the page table and a signed-in admin
    assert next(p for p in PAGES if p.path == "app_pages/setup.py").roles == ("admin",)
    assert "app_pages/setup.py" not in [p.path for p in pages_for(Principal("v", "viewer"))]
    # WHEN the admin opens Setup
    at = signed_in_app("app_pages/setup.py").run()
    # THEN the doctor's rows are shown with their summary
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert list(table.columns) == ["status", "check", "found", "fix"]
    assert {"Local store", "Catalog", "jobseek: alarms"} <= set(table["check"])
    assert any("✓" in s.value and "local backend" in s.value for s in at.subheader)
    # AND the service refuses a viewer even if the URL is typed
    access.set_principal(Principal("v", "viewer"))
    try:
        with pytest.raises(access.AccessDenied):
            setup_report(installed_runtime)
    finally:
        access.set_principal(None)


def test_the_report_is_cached_and_run_again_on_demand(local_runtime: Runtime) -> None:
    rt = dataclasses.replace(local_runtime)
    rt.cache.reset()
    first = setup_report(rt)
    assert setup_report(rt).fetched_at == first.fetched_at
    assert rt.cache.snapshot()["upstream_calls"]["doctor"] == 1
    setup_report(rt, rerun=True)
    assert rt.cache.snapshot()["upstream_calls"]["doctor"] == 2
