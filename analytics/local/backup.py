"""Backup copies of the local store: the embedded twin of AWS Backup's 6-hourly copies.

A copy is made with DuckDB's ``COPY FROM DATABASE`` inside the process that owns the file, so it
is a consistent snapshot taken while the dashboard keeps writing (a file copy of an open DuckDB
database is not). The copy is written under a temporary name and renamed, so a crash never
leaves a half-written file that looks like the latest backup.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from analytics.local.store import LocalStore

log = logging.getLogger(__name__)
NAME_RE = re.compile(r"^analytics-(\d{8}T\d{6}\d{3}Z)\.duckdb$")
_STAMP = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_ms: int
    size: int

    @property
    def sidecar(self) -> Path:
        """The row counts of every table at the time of the copy, kept beside it (not in it),
        so a restore can be checked against a record the copy itself cannot corrupt."""
        return self.path.with_suffix(".json")

    def counts(self) -> dict[str, int]:
        try:
            data = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): int(v) for k, v in data.get("counts", {}).items()}


def _name(taken_ms: int) -> str:
    ts = datetime.fromtimestamp(taken_ms / 1000, UTC)
    return f"analytics-{ts:{_STAMP}}{taken_ms % 1000:03d}Z.duckdb"


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def take_backup(store: LocalStore, directory: Path, *, now_ms: int, keep: int = 8) -> Backup:
    """Copy every table of ``store`` into a new file in ``directory``; keep the ``keep`` newest.

    The file's name records when it was taken (its recovery point); a sidecar JSON records
    every table's row count at that moment.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / _name(now_ms)
    tmp = directory / f".partial-{final.name}"
    tmp.unlink(missing_ok=True)
    with store.write_lock:  # no writer between the copy and its recorded time
        cur = store.cursor()
        row = cur.execute("SELECT current_database()").fetchone()
        assert row is not None  # a scalar query returns one row
        cur.execute(f"ATTACH {_quote(tmp)} AS backup_copy")
        try:
            cur.execute(f'COPY FROM DATABASE "{row[0]}" TO backup_copy')
            tables = [str(t[0]) for t in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                "ORDER BY 1", [row[0]]).fetchall()]
            counts = {t: store.count_rows(t) for t in tables}
        finally:
            cur.execute("DETACH backup_copy")
    tmp.replace(final)
    backup = Backup(final, now_ms, final.stat().st_size)
    backup.sidecar.write_text(json.dumps({"taken_ms": now_ms, "counts": counts}),
                              encoding="utf-8")
    for old in list_backups(directory)[keep:]:
        old.path.unlink(missing_ok=True)
        old.sidecar.unlink(missing_ok=True)
    return backup


def list_backups(directory: Path) -> list[Backup]:
    """The backups in ``directory``, newest first (partial copies are never listed)."""
    if not directory.is_dir():
        return []
    out = []
    for p in directory.iterdir():
        m = NAME_RE.match(p.name)
        if m:
            stamp = m.group(1)
            ts = datetime.strptime(stamp[:15], _STAMP).replace(tzinfo=UTC)
            out.append(Backup(p, int(ts.timestamp() * 1000) + int(stamp[15:18]),
                              p.stat().st_size))
    return sorted(out, key=lambda b: b.taken_ms, reverse=True)


def backup_due(directory: Path, *, now_ms: int, interval_s: float) -> bool:
    """Whether the newest backup is older than ``interval_s`` (or there is none)."""
    backups = list_backups(directory)
    return not backups or now_ms - backups[0].taken_ms >= interval_s * 1000
