"""The local store: one DuckDB file holding every table of the embedded backend.

Samples are kept raw (one row per observation) so any percentile can be computed exactly like
CloudWatch does from raw values. Series are normalised into a small ``series`` table so the big
``samples`` table holds only integers and doubles. Every table is created when the store opens,
so a reader never finds a table missing before its first writer ran.
"""

from __future__ import annotations

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


class LocalStore:
    """A DuckDB database shared by the simulator thread, the ingest endpoint and the sessions.

    DuckDB allows one writer process; inside the process every thread uses its own cursor.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(path))
        #: Hold while writing from any thread: one writer at a time keeps transactions simple.
        self.write_lock = threading.RLock()
        self._series: dict[tuple[str, str, str], int] = {}
        with self.write_lock:
            self._con.execute(SCHEMA)
        self._load_series()

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
