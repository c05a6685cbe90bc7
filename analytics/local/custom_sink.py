"""The local ``MetricSink``: custom business metrics stored in the DuckDB file, keyed like DynamoDB.

Why the same key as the real table: the local endpoint serves the Lambda's own resolver, and a
retried datapoint must overwrite rather than add *here* exactly as it does on AWS. So the table is
keyed by ``(metric_id, sort_key)`` with the sort key the Lambda computes (``ts_ms * 10**20 +
hash(dimensions)``, up to 33 digits, hence HUGEINT) and every write is an ``INSERT OR REPLACE``.
``write`` returns only after COMMIT, so the resolver's 202 always means "on disk".

The Lambda code is the ``ingest`` package (``infra/functions/ingest``), installed with the project.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import duckdb
import pandas as pd
import pyarrow as pa

from analytics.local.store import LocalStore
from ingest import keys as ingest_keys

log = logging.getLogger(__name__)

TABLE = "custom_metrics"
FRAME_COLUMNS = ["metric_id", "sort_key", "ts_ms", "dims", "value", "unit", "app",
                 "metric_name", "received_ms", "ttl"]


def items_frame(items: Sequence[Any]) -> pd.DataFrame:
    """``MetricItem``s (ingest_keys) -> the rows :meth:`DuckDBSink.write_frame` stores."""
    return pd.DataFrame({
        "metric_id": [i.metric_id for i in items],
        "sort_key": [str(i.sort_key) for i in items],
        "ts_ms": [int(i.ts_ms) for i in items],
        "dims": [i.dims for i in items],
        "value": [float(i.value) for i in items],
        "unit": [i.unit for i in items],
        "app": [i.app for i in items],
        "metric_name": [i.metric_name for i in items],
        "received_ms": [int(i.received_at) for i in items],
        "ttl": [int(i.ttl) for i in items],
    }, columns=FRAME_COLUMNS)


#: One committed row's series: (app, metric name, canonical dims, ts_ms, ttl).
SeriesRow = tuple[str, str, str, int, int]
#: Up to this many rows go in as one parameterised VALUES statement: registering an Arrow table
#: costs about a millisecond more, which is most of a small commit; bigger batches register.
VALUES_ROWS = 32
_COLUMNS = ", ".join(FRAME_COLUMNS)
_VALUES_ROW = "(?, CAST(? AS HUGEINT), ?, ?, ?, ?, ?, ?, ?, ?)"
_FROM_REGISTERED = """
    SELECT metric_id, CAST(sort_key AS HUGEINT), ts_ms, dims, value, unit,
           app, metric_name, received_ms, ttl
    FROM incoming_custom"""
Rows: TypeAlias = "list[tuple[Any, ...]] | pa.Table | pd.DataFrame"


def _insert(cur: duckdb.DuckDBPyConnection, rows: Rows, *, replace: bool) -> None:
    verb = f"INSERT OR REPLACE INTO {TABLE}" if replace else f"INSERT INTO {TABLE}"
    if isinstance(rows, list):
        cur.execute(f"{verb} ({_COLUMNS}) VALUES " + ",".join([_VALUES_ROW] * len(rows)),
                    [v for row in rows for v in row])
        return
    cur.register("incoming_custom", rows)  # on an error it dies with the transaction's cursor
    cur.execute(verb + _FROM_REGISTERED)
    cur.unregister("incoming_custom")


def _values(item: Any) -> tuple[Any, ...]:
    return (item.metric_id, str(item.sort_key), int(item.ts_ms), item.dims, float(item.value),
            item.unit, item.app, item.metric_name, int(item.received_at), int(item.ttl))


def items_table(items: Sequence[Any]) -> pa.Table:
    """``MetricItem``s -> an Arrow table of :data:`FRAME_COLUMNS`, the cheapest thing DuckDB
    reads: a DataFrame costs more to build than the endpoint's small batches cost to commit."""
    return pa.table({
        "metric_id": pa.array([i.metric_id for i in items], pa.string()),
        "sort_key": pa.array([str(i.sort_key) for i in items], pa.string()),
        "ts_ms": pa.array([int(i.ts_ms) for i in items], pa.int64()),
        "dims": pa.array([i.dims for i in items], pa.string()),
        "value": pa.array([float(i.value) for i in items], pa.float64()),
        "unit": pa.array([i.unit for i in items], pa.string()),
        "app": pa.array([i.app for i in items], pa.string()),
        "metric_name": pa.array([i.metric_name for i in items], pa.string()),
        "received_ms": pa.array([int(i.received_at) for i in items], pa.int64()),
        "ttl": pa.array([int(i.ttl) for i in items], pa.int64()),
    })


class DuckDBSink:
    """``MetricSink`` over the local store: idempotent upserts, committed before returning.

    ``listeners`` hear the series of every committed write, whichever path it took (the
    endpoint or the feeder's history), so what counts live series never misses one.
    """

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.keys = ingest_keys
        self.writes = 0  # committed write calls (tests and the bench read it)
        self.listeners: list[Callable[[Sequence[SeriesRow]], object]] = []

    def write(self, items: list[Any]) -> list[int]:
        """Store ``items`` (``MetricItem``); return the positions NOT written.

        All or nothing: one transaction per call, so on failure every position is reported and
        the client resends the whole batch (harmless: the upsert is idempotent).
        """
        if not items:
            return []
        problem = self.store.healthy()
        if problem is None:
            try:
                # DuckDB refuses to upsert one key twice in one statement; the last wins, as
                # in DynamoDB (dedupe keeps the last of each key).
                unique, _ = self.keys.dedupe(items)
                rows = ([_values(i) for i in unique] if len(unique) <= VALUES_ROWS
                        else items_table(unique))
                self._commit(rows, None, [
                    (i.app, i.metric_name, i.dims, int(i.ts_ms), int(i.ttl)) for i in unique])
            except Exception:
                log.exception("custom metrics: DuckDB write failed")
                return list(range(len(items)))
            problem = self.store.healthy()  # after the commit: was it written to the real file?
        if problem is not None:
            log.error("custom metrics: not acknowledging %d items: %s", len(items), problem)
            return list(range(len(items)))
        return []

    def write_frame(self, frame: pd.DataFrame, meta: Mapping[str, str] | None = None) -> int:
        """Upsert rows with :data:`FRAME_COLUMNS` (``sort_key`` as a decimal string or int) and
        ``meta`` entries in one transaction; returns the rows written.

        The feeder's watermark goes in ``meta`` so it never runs ahead of the rows it covers.
        """
        rows = frame[FRAME_COLUMNS].copy()
        rows["sort_key"] = rows["sort_key"].astype(str)
        rows = rows.drop_duplicates(["metric_id", "sort_key"], keep="last")
        series = list(zip(rows["app"].tolist(), rows["metric_name"].tolist(),
                          rows["dims"].tolist(), rows["ts_ms"].astype("int64").tolist(),
                          rows["ttl"].astype("int64").tolist(), strict=True))
        self._commit(rows if len(rows) else None, meta, series)
        return len(rows)

    def _commit(self, rows: Rows | None, meta: Mapping[str, str] | None,
                series: Sequence[SeriesRow]) -> None:
        with self.store.write_lock:  # re-entrant: the counter moves with the commit
            try:
                self._transaction(rows, meta, replace=False)
            except duckdb.ConstraintException:
                # A key already stored (a resent datapoint): overwrite, as DynamoDB's put does.
                # A plain INSERT costs half an upsert and resends are rare, so try it first.
                self._transaction(rows, meta, replace=True)
            self.writes += 1
            for listener in self.listeners:  # still under the lock: in commit order
                listener(series)

    def _transaction(self, rows: Rows | None, meta: Mapping[str, str] | None, *,
                     replace: bool) -> None:
        with self.store.transaction(meta) as cur:  # rolled back whole on any error
            if rows is not None and len(rows):
                _insert(cur, rows, replace=replace)

    def health(self) -> str | None:
        """None when writes reach the store file; else why they cannot."""
        return self.store.healthy()

    def count(self) -> int:
        """Rows stored (tests, bench)."""
        return self.store.count_rows(TABLE)


class DuckDBSeriesRegistry:
    """``SeriesRegistry`` of the local twin: the live names and dimension sets of each app.

    Read from the table once (the first check), then kept in memory and told of every commit
    (:meth:`record` listens to the sink), so a check costs no query: a query per request,
    under the lock that keeps two batches from both passing a cap, would serialize the whole
    endpoint. For each series it keeps the newest timestamp and TTL seen, which is what "live
    in the retention window" asks of the rows. Items submitted but not yet committed
    (``pending``, read before the memory so a commit in between is seen in one or the other)
    count as live too.
    """

    def __init__(self, store: LocalStore, *,
                 pending: Callable[[], Sequence[Any]] | None = None) -> None:
        self.store = store
        self.pending = pending
        self._lock = threading.Lock()
        self._loaded = False
        #: (app, metric) -> (newest ts_ms, newest ttl); (app, metric, dims) -> the same
        self._names: dict[tuple[str, str], tuple[int, int]] = {}
        self._sets: dict[tuple[str, str, str], tuple[int, int]] = {}

    def _load(self) -> None:
        rows = self.store.cursor().execute(
            f"SELECT app, metric_name, dims, max(ts_ms), max(ttl) FROM {TABLE} "
            "GROUP BY app, metric_name, dims").fetchall()
        for app, name, dims, ts, ttl in rows:
            self._note(str(app), str(name), str(dims), int(ts), int(ttl))
        self._loaded = True

    def _note(self, app: str, name: str, dims: str, ts: int, ttl: int) -> None:
        old = self._names.get((app, name), (ts, ttl))
        self._names[(app, name)] = (max(old[0], ts), max(old[1], ttl))
        old = self._sets.get((app, name, dims), (ts, ttl))
        self._sets[(app, name, dims)] = (max(old[0], ts), max(old[1], ttl))

    def record(self, series: Sequence[SeriesRow]) -> None:
        """Committed rows' series (a :class:`DuckDBSink` listener): live from now on."""
        with self._lock:
            if self._loaded:
                for app, name, dims, ts, ttl in series:
                    self._note(app, name, dims, ts, ttl)

    def admit(self, batch: Mapping[str, Mapping[str, frozenset[str]]], *,
              caps: Mapping[str, Any], now_ms: int, window_ms: int) -> Any:
        from ingest.guard import Caps, check_caps

        queued = list(self.pending()) if self.pending is not None else []
        oldest, now_s = max(now_ms - window_ms, 0), now_ms // 1000
        with self._lock:
            if not self._loaded:
                self._load()
            names_by_app: dict[str, set[str]] = {}
            for (app, name), (ts, ttl) in self._names.items():
                if ts >= oldest and ttl >= now_s:
                    names_by_app.setdefault(app, set()).add(name)
            for app, metrics in sorted(batch.items()):
                names = names_by_app.get(app, set()) | {
                    i.metric_name for i in queued if i.app == app}
                dims: dict[str, set[str]] = {}
                for metric in metrics:
                    dims[metric] = {d for (a, m, d), (ts, ttl) in self._sets.items()
                                    if a == app and m == metric and ts >= oldest
                                    and ttl >= now_s}
                    dims[metric] |= {i.dims for i in queued
                                     if i.app == app and i.metric_name == metric}
                over = check_caps(app, live_names=names, live_dims=dims, batch=metrics,
                                  caps=caps.get(app, Caps()))
                if over is not None:
                    return over
        return None
