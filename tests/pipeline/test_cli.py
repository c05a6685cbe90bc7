"""``python -m analytics.pipeline`` and ``python -m analytics.dr`` on the local backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.cli import dr as dr_cli
from analytics.cli import pipeline as pipeline_cli
from tests.conftest import frozen_clock, local_env


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for k, v in local_env(tmp_path, SIMULATOR_HISTORY_DAYS="1").items():
        monkeypatch.setenv(k, v)
    return tmp_path


def test_pipeline_cli_runs_a_backfill_lists_it_and_refuses_bad_dates(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a local data folder
    # WHEN two past days are backfilled, then the runs are listed
    assert pipeline_cli.main(["run", "--backfill", "2026-01-05", "2026-01-06"],
                             clock=frozen_clock()) == 0
    out = capsys.readouterr().out
    assert "(backfill 2026-01-05..2026-01-06): succeeded" in out
    # two apps x two days (the store keeps no costs that old: no unassigned rollup)
    assert "rollups 4" in out and "steps: fetch" in out
    assert pipeline_cli.main(["runs", "--limit", "1"], clock=frozen_clock()) == 0
    assert "backfill 2026-01-05..2026-01-06" in capsys.readouterr().out
    # AND a malformed date is refused with a message and exit code 1
    assert pipeline_cli.main(["run", "--date", "2026-02-30"], clock=frozen_clock()) == 1
    assert "not a date" in capsys.readouterr().err


def test_dr_cli_backs_up_and_drills(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN no backup yet: the drill says how to take one
    assert dr_cli.main(["drill"]) == 1
    assert "python -m analytics.dr backup" in capsys.readouterr().err
    # WHEN a backup is taken and the drill runs
    assert dr_cli.main(["backup"]) == 0
    assert "analytics-" in capsys.readouterr().out
    assert dr_cli.main(["drill", "--sample", "6"]) == 0
    # THEN it prints the recovery point, every step and PASS, and leaves no copy behind
    out = capsys.readouterr().out
    for line in ("DR drill (local)", "recovery point:", "achieved RPO:", "restore copy",
                 "delete restored copy", "result: PASS"):
        assert line in out, line
    assert not list(env.glob("restore-drill-*"))
