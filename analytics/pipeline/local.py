"""The pipeline's local sources: rollups in the DuckDB store, packs in ``.data/reports/``.

Rollups and runs are rows keyed like their DynamoDB items (``INSERT OR REPLACE`` on the primary
key is the local PutItem), so a re-run replaces and never duplicates. Objects are plain files
under the data folder keyed like the S3 bucket's (``reports/weekly/…``), so a developer opens a
pack directly; "notify" appends the SNS message to ``reports/notifications.log``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

import pandas as pd

from analytics.local.store import LocalStore
from analytics.pipeline.model import Rollup, RunRecord, RunRequest
from analytics.pipeline.source import StoredReport

log = logging.getLogger(__name__)
NOTIFICATIONS = "reports/notifications.log"


class LocalRollups:
    def __init__(self, *, store: LocalStore) -> None:
        self.store = store

    def put_rollups(self, rollups: Sequence[Rollup]) -> int:
        if not rollups:
            return 0
        frame = pd.DataFrame({
            "app": [r.app for r in rollups], "day": [r.day for r in rollups],
            "data": [r.to_json() for r in rollups],
            "computed_ms": [r.computed_ms for r in rollups],
        })
        with self.store.transaction() as cur:
            cur.register("new_rollups", frame)
            cur.execute("INSERT OR REPLACE INTO rollups "
                        "SELECT app, day::DATE, data, computed_ms FROM new_rollups")
            cur.unregister("new_rollups")
        return len(rollups)

    def get_rollups(self, app_ids: Sequence[str], *, start: date, end: date) -> list[Rollup]:
        if not app_ids:
            return []
        rows = self.store.cursor().execute(
            "SELECT app, day, data, computed_ms FROM rollups "
            "WHERE list_contains($apps, app) AND day >= $start AND day < $end "
            "ORDER BY app, day",
            {"apps": list(app_ids), "start": start, "end": end}).fetchall()
        return [Rollup.from_json(str(a), d, str(data), int(ms)) for a, d, data, ms in rows]

    def put_run(self, run: RunRecord) -> None:
        with self.store.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO pipeline_runs VALUES (?, ?, ?)",
                        [run.run_id, run.started_ms, run.to_json()])

    def list_runs(self, *, limit: int = 20) -> list[RunRecord]:
        rows = self.store.cursor().execute(
            "SELECT data FROM pipeline_runs ORDER BY started_ms DESC, run_id LIMIT ?",
            [limit]).fetchall()
        return [RunRecord.from_json(str(r[0])) for r in rows]


class LocalReports:
    """Files under ``root`` (the data folder); keys are relative POSIX paths that never leave
    it."""

    def __init__(self, *, root: Path, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.clock = clock

    def _path(self, key: str) -> Path:
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"invalid report key {key!r}")
        return self.root.joinpath(*rel.parts)

    def put(self, key: str, body: bytes, *, content_type: str) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(body)
        tmp.replace(path)  # a reader never sees half a pack
        return str(path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[StoredReport]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        out = []
        for p in base.rglob("*"):
            if p.is_file() and not p.name.startswith("."):
                st = p.stat()
                out.append(StoredReport(p.relative_to(self.root).as_posix(), st.st_size,
                                        int(st.st_mtime * 1000), str(p)))
        return sorted(out, key=lambda r: (r.modified_ms, r.key), reverse=True)

    def link(self, key: str, *, expires_s: int) -> str:
        return self._path(key).resolve().as_uri()

    def notify(self, subject: str, message: str) -> None:
        path = self._path(NOTIFICATIONS)
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {stamp} {subject}\n{message}\n")
        log.info("pipeline notification: %s", subject)


class LocalRunner:
    """Runs a request on a thread of this process with the function the root binds."""

    def __init__(self) -> None:
        self._run: Callable[[RunRequest, str, str], object] | None = None
        self.threads: list[threading.Thread] = []

    def bind(self, run: Callable[[RunRequest, str, str], object]) -> None:
        """``run(request, trigger, run_id)``: the pipeline over this process's runtime."""
        self._run = run

    def start(self, request: RunRequest, *, trigger: str) -> str:
        if self._run is None:
            raise RuntimeError("the local pipeline runner is not bound to a runtime")
        run, run_id = self._run, new_run_id()
        t = threading.Thread(target=run, args=(request, trigger, run_id),
                             name=f"pipeline-{run_id}", daemon=True)
        self.threads = [th for th in self.threads if th.is_alive()] + [t]
        t.start()
        return run_id


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]
