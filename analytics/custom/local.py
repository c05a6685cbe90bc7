"""Custom business metrics from the ``custom_metrics`` DuckDB table.

Same answers as the aws source (see :mod:`analytics.custom.aws`), computed in SQL: the
time range is the sort-key range of :func:`analytics.custom.keys.sort_key_range` (the table is
keyed exactly like DynamoDB), expired rows (``ttl`` < now) are ignored, and the statistic is
computed per period bucket and dimension set — percentiles with ``quantile_cont`` (linear
interpolation, as numpy and the aws path's pandas).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.core.catalog import App
from analytics.custom.keys import REALTIME_LISTING_TTL_S, RECENT_COLUMNS, sort_key_range
from analytics.local.store import LocalStore
from analytics.metrics.frames import tidy_parts
from analytics.metrics.queries import percentile_of

_STAT_SQL = {
    "Average": "avg(value)", "Sum": "sum(value)", "Minimum": "min(value)",
    "Maximum": "max(value)", "SampleCount": "count(*)::DOUBLE",
}


class LocalCustom:
    """Reads the table the local ingest twin writes; ``clock`` says which rows have expired."""

    #: Listing is one query of the local table: redo it at the realtime refresh, so a metric
    #: name sent a moment ago is on the Realtime page at its next refresh.
    listing_ttl_s = REALTIME_LISTING_TTL_S

    def __init__(self, *, store: LocalStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self.store.cursor()

    def metric_names(self, app: App) -> list[str]:
        rows = self._cursor().execute(
            "SELECT DISTINCT metric_name FROM custom_metrics WHERE app = ? AND ttl >= ? "
            "ORDER BY 1", [app.id, int(self.clock())]).fetchall()
        return [str(r[0]) for r in rows]

    def metric_stats(self, app_id: str, metric_name: str, *, start_ms: int, end_ms: int,
                     period: int, stat: str, dims: str | None, now_ms: int,
                     dims_in: Sequence[str] | None = None) -> pd.DataFrame:
        q = percentile_of(stat)
        agg = f"quantile_cont(value, {q / 100.0!r})" if q is not None else _STAT_SQL[stat]
        lo, hi = sort_key_range(start_ms, end_ms - 1)
        params: dict[str, object] = {
            "mid": f"{app_id}#{metric_name}", "lo": lo, "hi": hi, "start": start_ms,
            "width": period * 1000, "now": now_ms // 1000,
        }
        where_dims = ""
        if dims is not None:
            where_dims, params["dims"] = "AND dims = $dims", dims
        if dims_in is not None:
            where_dims += " AND list_contains($dims_in, dims)"
            params["dims_in"] = list(dims_in)
        got = self._cursor().execute(f"""
            SELECT dims, (ts_ms - $start) // $width AS bucket, {agg} AS v
            FROM custom_metrics
            WHERE metric_id = $mid
              AND sort_key BETWEEN $lo::HUGEINT AND $hi::HUGEINT
              AND ttl >= $now {where_dims}
            GROUP BY dims, bucket
            ORDER BY dims, bucket
        """, params).fetchnumpy()
        dims_col = np.asarray(got["dims"], dtype=object)
        stamps = start_ms + np.asarray(got["bucket"], dtype="int64") * (period * 1000)
        values = np.asarray(got["v"], dtype="float64")
        return tidy_parts([(stamps[dims_col == d], app_id, str(d), metric_name, stat,
                            values[dims_col == d]) for d in dict.fromkeys(dims_col.tolist())])

    def recent_points(self, app_id: str, metric_names: Sequence[str], *, since_ms: int,
                      until_ms: int, now_ms: int) -> pd.DataFrame:
        if not metric_names:
            return pd.DataFrame(columns=RECENT_COLUMNS)
        frame = self._cursor().execute("""
            SELECT metric_name AS metric, dims, ts_ms, received_ms, unit
            FROM custom_metrics
            WHERE app = $app AND list_contains($names, metric_name)
              AND ts_ms BETWEEN $since AND $until AND ttl >= $now
            ORDER BY ts_ms
        """, {"app": app_id, "names": list(metric_names), "since": since_ms,
              "until": until_ms, "now": now_ms // 1000}).df()
        return frame[RECENT_COLUMNS]

