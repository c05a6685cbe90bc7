"""CloudWatch metric semantics over the embedded DuckDB store.

Statistics follow CloudWatch: Average, Sum, Minimum, Maximum and SampleCount over the raw samples
of each period bucket, and any percentile ``pNN``/``pNN.N`` computed from those raw samples
(linear interpolation, numpy's default, so tests can compare against ``numpy.percentile``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from analytics.core.periods import as_utc
from analytics.local.store import LocalStore
from analytics.metrics.frames import Part, empty_tidy, tidy_parts
from analytics.metrics.queries import MetricQuery, percentile_of

_BASIC_SQL = {
    "Average": "avg(value)", "Sum": "sum(value)", "Minimum": "min(value)",
    "Maximum": "max(value)", "SampleCount": "count(*)::DOUBLE",
}


class LocalMetrics:
    """Aggregates the store's raw samples per period bucket, one SQL statement per period."""

    def __init__(self, *, store: LocalStore) -> None:
        self.store = store

    def get_metric_data(self, queries: Sequence[MetricQuery], *, start: datetime,
                        end: datetime) -> pd.DataFrame:
        if not queries:
            return empty_tidy()
        start_ms = int(as_utc(start).timestamp() * 1000)
        end_ms = int(as_utc(end).timestamp() * 1000)
        ids = self.store.series_ids(q.series_key for q in queries)
        # One SQL statement per (period, needs-percentiles) group: usually one or two in all.
        groups: dict[int, list[MetricQuery]] = defaultdict(list)
        for q in queries:
            if q.series_key in ids:
                groups[q.period].append(q)
        parts: list[Part] = []
        for period, qs in groups.items():
            parts.extend(self._aggregate(qs, ids, period, start_ms, end_ms))
        return tidy_parts(parts)

    def _aggregate(self, queries: list[MetricQuery], ids: dict[tuple[str, str, str], int],
                   period: int, start_ms: int, end_ms: int) -> list[Part]:
        pcts = sorted({p for q in queries if (p := percentile_of(q.stat)) is not None})
        series = sorted({ids[q.series_key] for q in queries})
        cols = ", ".join(f"{sql} AS {name}" for name, sql in _BASIC_SQL.items())
        if pcts:
            qlist = ", ".join(repr(p / 100.0) for p in pcts)
            cols += f", quantile_cont(value, [{qlist}]) AS pct"
        sql = f"""
            SELECT series_id, (ts_ms - $start) // $width AS bucket, {cols}
            FROM samples
            WHERE series_id IN ({", ".join(map(str, series))})
              AND ts_ms >= $start AND ts_ms < $end
            GROUP BY series_id, bucket
        """
        width = period * 1000
        got = self.store.cursor().execute(
            sql, {"start": start_ms, "end": end_ms, "width": width}).fetchnumpy()
        sid = np.asarray(got["series_id"], dtype="int64")
        stamps = start_ms + np.asarray(got["bucket"], dtype="int64") * width
        pct = (np.stack([np.asarray(v, dtype="float64") for v in got["pct"]])
               if pcts and len(sid) else np.empty((0, len(pcts))))  # no rows: nothing to pick
        out: list[Part] = []
        for q in queries:
            rows = sid == ids[q.series_key]
            p = percentile_of(q.stat)
            if p is None:
                values = np.asarray(got[q.stat], dtype="float64")[rows]
            else:
                values = pct[rows, pcts.index(p)]
            out.append((stamps[rows], q.app, q.resource, q.metric, q.stat, values))
        return out
