"""The ingest table's keys and the rules every reader of custom metrics shares.

Custom metrics are stored in the ingest Lambda's layout on both backends: partition
``metricId = "<app>#<metricName>"``, sort key ``ts_ms * 10**20 + hash(dimensions)``. A time range
is therefore a sort-key range covering every dimension set, and a series is one dimension set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import cast

import pandas as pd

from analytics.metrics.frames import empty_tidy, tidy
from analytics.metrics.queries import percentile_of

#: Same constants and rules as ``infra/functions/ingest/keys.py`` (the dashboard image
#: does not ship the Lambda's code; tests/custom assert the two agree).
SORT_KEY_SHIFT = 10**20
METRIC_NAME_RE = re.compile(r"[A-Za-z0-9_.:/#-]{1,255}")
#: Periods below a minute, as CloudWatch allows for high-resolution metrics.
HIGH_RES_PERIODS = (1, 5, 10, 30)
#: At most this many buckets per series and query (GetMetricData's datapoint page).
MAX_BUCKETS = 100_800
#: Timestamps may be up to 5 minutes ahead (the ingest contract), so "latest" looks that far.
FUTURE_MS = 5 * 60_000
#: A CloudWatch listing (ListMetrics) is reused for 5 minutes, not fetched at every refresh.
LIST_TTL_S = 300.0
#: A local listing (one query of the local table) is reused as long as live custom data (1 s).
REALTIME_LISTING_TTL_S = 1.0
RECENT_COLUMNS = ["metric", "dims", "ts_ms", "received_ms", "unit"]
#: Units whose natural per-period statistic is a Sum (events, volumes); others average.
SUMMED_UNITS = frozenset({"Count", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
                          "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits"})


def sort_key_range(start_ms: int, end_ms: int) -> tuple[int, int]:
    """Inclusive sort-key bounds covering every dimension set with ``start_ms <= ts <= end_ms``."""
    return start_ms * SORT_KEY_SHIFT, (end_ms + 1) * SORT_KEY_SHIFT - 1


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def canonical_dims(dims: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """The stored ``dims`` string of a dimension set (sorted by name, ``\\ , =`` escaped)."""
    pairs = dims.items() if isinstance(dims, Mapping) else dims
    return ",".join(f"{_escape(str(n))}={_escape(str(v))}" for n, v in sorted(pairs))


def validate_period(period: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0 or (
            period not in HIGH_RES_PERIODS and period % 60):
        raise ValueError(f"period must be one of {HIGH_RES_PERIODS} s or a positive multiple of "
                         f"60 s, got {period!r}")
    return period


def aggregate_points(points: pd.DataFrame, *, app_id: str, metric_name: str, start_ms: int,
                     period: int, stat: str) -> pd.DataFrame:
    """Raw points (ts_ms, dims, value) -> tidy ``stat`` per bucket and dimension set.

    The aws source aggregates with this; the local one does the same in SQL.
    """
    if points.empty:
        return empty_tidy()
    width = period * 1000
    frame = points.assign(bucket=(points["ts_ms"].astype("int64") - start_ms) // width)
    grouped = frame.groupby(["dims", "bucket"])["value"]
    q = percentile_of(stat)
    if q is not None:
        values = grouped.quantile(q / 100.0)
    else:
        how = {"Average": "mean", "Sum": "sum", "Minimum": "min", "Maximum": "max",
               "SampleCount": "size"}[stat]
        values = grouped.agg(how)
    rows: list[tuple[object, ...]] = []
    for label, v in values.items():
        d, b = cast("tuple[str, int]", label)  # grouped by two keys: every label is (dims, bucket)
        rows.append((pd.Timestamp(start_ms + int(b) * width, unit="ms", tz="UTC"), app_id, d,
                     metric_name, stat, float(v)))
    return tidy(rows)
