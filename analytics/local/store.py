"""The local store: one DuckDB file holding every table of the embedded backend.

Samples are kept raw (one row per observation) so any percentile can be computed exactly like
CloudWatch does from raw values. Series are normalised into a small ``series`` table so the big
``samples`` table holds only integers and doubles. Every table is created when the store opens,
so a reader never finds a table missing before its first writer ran.

Faults are explicit: a file that cannot be opened (corrupt, read-only, not ours) is a
:class:`StoreError` naming it, and a file deleted or replaced under the running process is
noticed by :meth:`LocalStore.healthy` (DuckDB would go on writing into the unlinked inode, and
every acknowledged point would vanish at the next start). Files are private (0600, dir 0700).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS series_seq START 1;
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY DEFAULT nextval('series_seq'),
    namespace VARCHAR NOT NULL,
    metric_name VARCHAR NOT NULL,
    dims VARCHAR NOT NULL,
    UNIQUE (namespace, metric_name, dims)
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    ts_ms BIGINT NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
-- custom business metrics, keyed exactly like the ingest Lambda's DynamoDB table
CREATE TABLE IF NOT EXISTS custom_metrics (
    metric_id VARCHAR NOT NULL,     -- "<app>#<metricName>" (DynamoDB partition key)
    sort_key HUGEINT NOT NULL,      -- ts_ms * 10^20 + blake2b64(dims) (DynamoDB sort key)
    ts_ms BIGINT NOT NULL,
    dims VARCHAR NOT NULL,          -- canonical "Name=Value,..." (escaped), "" for none
    value DOUBLE NOT NULL,
    unit VARCHAR,
    app VARCHAR NOT NULL,
    metric_name VARCHAR NOT NULL,
    received_ms BIGINT NOT NULL,    -- when the endpoint accepted it (ingest lag = received - ts)
    ttl BIGINT NOT NULL,            -- epoch seconds; rows past it are ignored by every reader
    PRIMARY KEY (metric_id, sort_key)
);
-- local alarm evaluations, kept so a restart resumes them instead of redoing 14 days
CREATE TABLE IF NOT EXISTS alarm_tracks (
    key VARCHAR PRIMARY KEY,        -- hash of the rules and their period
    end_ms BIGINT NOT NULL,         -- evaluated up to here
    payload VARCHAR NOT NULL        -- JSON: values, states and transitions per alarm
);
-- simulated Cost Explorer line items, one row per day, service and tag
CREATE TABLE IF NOT EXISTS cost_items (
    day DATE NOT NULL,
    service VARCHAR NOT NULL,
    app_tag VARCHAR NOT NULL,
    unblended_usd DOUBLE NOT NULL,
    amortized_usd DOUBLE NOT NULL,
    expected_usd DOUBLE NOT NULL,
    anomaly BOOLEAN NOT NULL,
    PRIMARY KEY (day, service, app_tag)
);
-- the pipeline's daily rollups (one row per app and day: a re-run replaces it) and its runs
CREATE TABLE IF NOT EXISTS rollups (
    app VARCHAR NOT NULL,
    day DATE NOT NULL,
    data VARCHAR NOT NULL,          -- JSON: CloudWatch daily statistics, costs, custom sums
    computed_ms BIGINT NOT NULL,
    PRIMARY KEY (app, day)
);
CREATE TABLE IF NOT EXISTS pipeline_runs (
    run_id VARCHAR PRIMARY KEY,
    started_ms BIGINT NOT NULL,
    data VARCHAR NOT NULL           -- JSON run record: request, status, counts, durations
);
"""


def _factorize_keys(frame: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """(code per row, distinct (namespace, metric_name, dims) keys): column codes combined
    into one integer, so no row is ever turned into a Python tuple."""
    combined = np.zeros(len(frame), dtype="int64")
    uniques = []
    for col in ("namespace", "metric_name", "dims"):
        codes, uniq = pd.factorize(frame[col])
        combined = combined * len(uniq) + codes
        uniques.append(uniq)
    codes, distinct = pd.factorize(combined)
    keys = []
    for c in distinct.tolist():
        parts = []
        for uniq in reversed(uniques):
            c, i = divmod(c, len(uniq))
            parts.append(str(uniq[i]))
        keys.append((parts[2], parts[1], parts[0]))
    return codes, keys
class StoreError(RuntimeError):
    """The store file cannot be used; the message names it and says what to do."""


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


class LocalStore:
    """A DuckDB database shared by the simulator thread, the ingest endpoint and the sessions.

    DuckDB allows one writer process; inside the process every thread uses its own cursor.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._memory = str(path) == ":memory:"
        if not self._memory:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(self.path.parent, 0o700)
            if self.path.exists() and (not os.access(self.path, os.R_OK | os.W_OK)
                                       or not self.path.stat().st_mode & 0o200):
                # the mode bit too: root may write anything, but a file made read-only by its
                # owner is a statement that this process should not change it
                raise StoreError(f"{self.path}: the local store is read-only; fix its "
                                 "permissions (chmod 600) or set ANALYTICS_DUCKDB")
        try:
            self._con = duckdb.connect(str(path))
            self._con.execute(SCHEMA)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise StoreError(f"{self.path}: cannot open the local store ({type(exc).__name__}: "
                             f"{first}); move the file aside to start a new one, or set "
                             "ANALYTICS_DUCKDB") from None
        #: Hold while writing from any thread: one writer at a time keeps transactions simple.
        self.write_lock = threading.RLock()
        self._series: dict[tuple[str, str, str], int] = {}
        self._identity = None if self._memory else _file_id(self.path)
        self._private()
        self._load_series()

    def _private(self) -> None:
        """0600 on the database and its write-ahead log (DuckDB creates them with the umask)."""
        if self._memory:
            return
        for f in (self.path, self.path.with_name(self.path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                if f.stat().st_mode & 0o077:
                    os.chmod(f, 0o600)

    def healthy(self) -> str | None:
        """None while the file is the one opened; else why not (deleted, replaced)."""
        if self._memory:
            return None
        now = _file_id(self.path)
        if now is None:
            return f"{self.path} was deleted while the dashboard was running"
        if now != self._identity:
            return f"{self.path} was replaced while the dashboard was running"
        return None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not thread-safe)."""
        return self._con.cursor()

    def close(self) -> None:
        self._con.close()

    # -- series ----------------------------------------------------------------------------
    def _load_series(self) -> None:
        rows = self.cursor().execute(
            "SELECT namespace, metric_name, dims, id FROM series").fetchall()
        self._series = {(ns, m, d): i for ns, m, d, i in rows}

    def series_ids(self, keys: Iterable[tuple[str, str, str]], create: bool = False
                   ) -> dict[tuple[str, str, str], int]:
        """Ids of the given (namespace, metric, dims) keys; unknown keys are skipped or created."""
        keys = list(dict.fromkeys(keys))
        missing = [k for k in keys if k not in self._series]
        if missing and create:
            new = pd.DataFrame(missing, columns=["namespace", "metric_name", "dims"])
            with self.write_lock:
                cur = self.cursor()
                cur.register("new_series", new)
                cur.execute("INSERT INTO series (namespace, metric_name, dims) "
                            "SELECT namespace, metric_name, dims FROM new_series "
                            "ON CONFLICT DO NOTHING")
                cur.unregister("new_series")
                self._load_series()
        return {k: self._series[k] for k in keys if k in self._series}

    # -- samples ---------------------------------------------------------------------------
    def insert_samples(self, frame: pd.DataFrame, meta: Mapping[str, str] | None = None) -> int:
        """Append samples (namespace, metric_name, dims, ts_ms, value) in one transaction.

        ``meta`` is written in the same transaction, so a watermark never runs ahead of the
        data it describes (a crash cannot leave a gap or a duplicate).
        """
        if frame.empty and not meta:
            return 0
        # Factorised, not zipped row by row: a day of ten apps is millions of rows but only a
        # few thousand series.
        codes, keys = _factorize_keys(frame)
        ids = self.series_ids(keys, create=True)
        by_code = np.array([ids[k] for k in keys], dtype="int32")
        rows = pd.DataFrame({
            "series_id": by_code[codes] if len(codes) else np.empty(0, dtype="int32"),
            "ts_ms": frame["ts_ms"].astype("int64").to_numpy(),
            "value": frame["value"].astype("float64").to_numpy(),
        })
        with self.transaction(meta) as cur:
            if len(rows):
                cur.register("new_rows", rows)
                cur.execute("INSERT INTO samples SELECT series_id, ts_ms, value FROM new_rows")
                cur.unregister("new_rows")
        return len(rows)

    @contextmanager
    def transaction(self, meta: Mapping[str, str] | None = None
                    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction under the write lock; ``meta`` keys are written in it too.

        Rolled back on any error, so data and the watermarks describing it move together.
        """
        with self.write_lock:
            cur = self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                for k, v in (meta or {}).items():
                    cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [k, v])
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
            self._private()

    def get_meta(self, key: str) -> str | None:
        row = self.cursor().execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.write_lock:
            self.cursor().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def count_rows(self, table: str) -> int:
        """``count(*)`` of one of the store's own tables (never user input)."""
        row = self.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()
        # an aggregate without GROUP BY always returns exactly one row
        assert row is not None
        return int(row[0])

    def sample_count(self) -> int:
        return self.count_rows("samples")
