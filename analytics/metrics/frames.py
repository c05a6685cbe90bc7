"""The tidy metrics frame every source answers with, and the helpers that slice it.

One row per (timestamp, app, resource, metric, stat, value): both sources build it with
:func:`tidy`, so the pages and the contract tests never see which backend answered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.metrics.queries import TIDY_COLUMNS

#: ``frame.attrs`` key of the notes a source attaches to its answer (a series AWS refused).
NOTES = "notes"


def empty_tidy() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in TIDY_COLUMNS})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype("float64")
    return frame


def tidy(rows: Sequence[tuple[object, ...]]) -> pd.DataFrame:
    """Build the tidy frame from (timestamp, app, resource, metric, stat, value) rows."""
    if not rows:
        return empty_tidy()
    frame = pd.DataFrame(rows, columns=TIDY_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype("float64")
    return frame.sort_values(["app", "resource", "metric", "stat", "timestamp"],
                             ignore_index=True)


#: One query's answer as arrays: (epoch ms, app, resource, metric, stat, values).
Part = tuple[np.ndarray, str, str, str, str, np.ndarray]


def tidy_parts(parts: Sequence[Part]) -> pd.DataFrame:
    """The tidy frame from per-query arrays: the same frame as :func:`tidy`, built without a
    Python object per row (a page's answer is thousands of rows)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return empty_tidy()
    counts = [len(p[0]) for p in parts]

    def labels(i: int) -> np.ndarray:
        return np.repeat(np.array([p[i] for p in parts], dtype=object), counts)

    frame = pd.DataFrame({
        "timestamp": pd.to_datetime(np.concatenate([p[0] for p in parts]).astype("int64"),
                                    unit="ms", utc=True),
        "app": labels(1), "resource": labels(2), "metric": labels(3), "stat": labels(4),
        "value": np.concatenate([p[5] for p in parts]).astype("float64"),
    })
    return frame.sort_values(["app", "resource", "metric", "stat", "timestamp"],
                             ignore_index=True)


def series(frame: pd.DataFrame, **match: str) -> pd.DataFrame:
    """Rows of the tidy frame matching the given column values."""
    mask = pd.Series(True, index=frame.index)
    for col, val in match.items():
        mask &= frame[col] == val
    return frame[mask]


def bucket_sum(frame: pd.DataFrame) -> pd.Series:
    """Values summed per timestamp (e.g. requests over all of an app's APIs)."""
    if frame.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
    return frame.groupby("timestamp")["value"].sum().sort_index()
