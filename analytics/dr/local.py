"""The local drill: restore the store's newest backup copy into a new file, check it, delete it.

The check is against two independent records: the row counts the backup wrote beside the copy
when it was taken (what the store held at the recovery point), and the live store itself — a
sample of rows of the append-only tables (samples, custom metrics) must be found there
unchanged. The live store is only read.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics.dr.model import DrillError, DrillReport, StepTimer
from analytics.local.backup import Backup, list_backups
from analytics.local.store import LocalStore

#: Tables whose rows are never rewritten: a restored row must exist unchanged in the live store.
APPEND_ONLY = {
    "samples": ("series_id", "ts_ms", "value"),
    "custom_metrics": ("metric_id", "sort_key", "ts_ms", "dims", "value", "received_ms"),
}


class LocalDrill:
    def __init__(self, *, store: LocalStore, backup_dir: Path,
                 clock: Callable[[], float] = time.time,
                 perf: Callable[[], float] = time.perf_counter,
                 rng: random.Random | None = None) -> None:
        self.store, self.backup_dir = store, backup_dir
        self.clock, self.perf = clock, perf
        self.rng = rng or random.Random()

    def drill(self, *, lookback_s: int = 0, sample: int = 25) -> DrillReport:
        step = StepTimer(self.perf)
        started = datetime.fromtimestamp(self.clock(), UTC)

        backup: Backup = step("find newest backup", self._newest, lambda b: b.path.name)
        expected = backup.counts()
        if not expected:
            raise DrillError(f"{backup.sidecar} is missing: that copy cannot be verified")
        target = self.backup_dir.parent / f"restore-drill-{started:%Y%m%dT%H%M%S}.duckdb"
        step("restore copy", lambda: shutil.copyfile(backup.path, target), lambda _: target.name)
        try:
            con = step("open restored store", lambda: duckdb.connect(str(target), read_only=True),
                       lambda _: "")
            try:
                restored = step("count restored rows", lambda: {
                    t: _count(con, t) for t in expected}, lambda c: f"{sum(c.values()):,} rows")
                size, mismatches = step("compare sample", lambda: self._compare(con, sample),
                                        lambda c: f"{c[0]} rows")
            finally:
                con.close()
        finally:
            step("delete restored copy", lambda: target.unlink(missing_ok=True), lambda _: "")
        notes = [f"{t}: expected {expected[t]:,}, restored {restored.get(t, 0):,}"
                 for t in sorted(expected) if expected[t] != restored.get(t, 0)]
        return DrillReport("local", str(self.store.path), target.name, started,
                           datetime.fromtimestamp(backup.taken_ms / 1000, UTC),
                           sum(expected.values()), sum(restored.values()), size, mismatches,
                           tuple(step.steps), tuple(notes))

    def _newest(self) -> Backup:
        backups = list_backups(self.backup_dir)
        if not backups:
            raise DrillError(f"no backup in {self.backup_dir} yet: the dashboard takes one "
                             "every 6 hours; `python -m analytics.dr backup` takes one now")
        return backups[0]

    def _compare(self, con: duckdb.DuckDBPyConnection, sample: int) -> tuple[int, int]:
        """(rows compared, rows not found unchanged in the live store)."""
        rows: list[tuple[str, tuple[str, ...], tuple[Any, ...]]] = []
        per_table = max(1, sample // len(APPEND_ONLY))
        for table, cols in APPEND_ONLY.items():
            seed = self.rng.randrange(2**31)
            found = con.execute(f"SELECT {', '.join(cols)} FROM {table} USING SAMPLE "
                                f"reservoir({per_table} ROWS) REPEATABLE ({seed})").fetchall()
            rows += [(table, cols, tuple(r)) for r in found]
        live = self.store.cursor()
        missing = 0
        for table, cols, row in rows:
            where = " AND ".join(f"{c} = ?" for c in cols)
            hit = live.execute(f"SELECT count(*) FROM {table} WHERE {where}",
                               list(row)).fetchone()
            missing += 0 if hit and int(hit[0]) > 0 else 1
        return len(rows), missing


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0
