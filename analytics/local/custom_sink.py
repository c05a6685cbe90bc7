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
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

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


class DuckDBSink:
    """``MetricSink`` over the local store: idempotent upserts, committed before returning."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.keys = ingest_keys
        self.writes = 0  # committed write calls (tests and the bench read it)

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
                unique, _ = self.keys.dedupe(items)
                self.write_frame(items_frame(unique))
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
        # DuckDB refuses to upsert one key twice in one statement; the last wins, as in DynamoDB.
        rows = rows.drop_duplicates(["metric_id", "sort_key"], keep="last")
        with self.store.write_lock:  # re-entrant: the counter moves with the commit
            with self.store.transaction(meta) as cur:
                if len(rows):
                    cur.register("incoming_custom", rows)
                    cur.execute(f"""
                        INSERT OR REPLACE INTO {TABLE}
                        SELECT metric_id, CAST(sort_key AS HUGEINT), ts_ms, dims, value, unit,
                               app, metric_name, received_ms, ttl
                        FROM incoming_custom""")
                    cur.unregister("incoming_custom")
            self.writes += 1
        return len(rows)

    def health(self) -> str | None:
        """None when writes reach the store file; else why they cannot."""
        return self.store.healthy()

    def count(self) -> int:
        """Rows stored (tests, bench)."""
        return self.store.count_rows(TABLE)


class DuckDBSeriesRegistry:
    """``SeriesRegistry`` counted from the table itself: the live names and dimension sets.

    The local endpoint resolves one request at a time (``ingest.events.RESOLVE_LOCK``), so the
    count and the write that follows cannot interleave with another batch's.
    """

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def admit(self, batch: Mapping[str, Mapping[str, frozenset[str]]], *,
              caps: Mapping[str, Any], now_ms: int, window_ms: int) -> Any:
        from ingest.guard import Caps, check_caps

        cur = self.store.cursor()
        oldest = max(now_ms - window_ms, 0)
        for app, metrics in sorted(batch.items()):
            names = {str(r[0]) for r in cur.execute(
                f"SELECT DISTINCT metric_name FROM {TABLE} WHERE app = ? AND ttl >= ? "
                "AND ts_ms >= ?", [app, now_ms // 1000, oldest]).fetchall()}
            dims: dict[str, set[str]] = {}
            for metric in metrics:
                dims[metric] = {str(r[0]) for r in cur.execute(
                    f"SELECT DISTINCT dims FROM {TABLE} WHERE metric_id = ? AND ttl >= ? "
                    "AND ts_ms >= ?", [f"{app}#{metric}", now_ms // 1000, oldest]).fetchall()}
            over = check_caps(app, live_names=names, live_dims=dims, batch=metrics,
                              caps=caps.get(app, Caps()))
            if over is not None:
                return over
        return None
