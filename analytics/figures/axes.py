"""Time on a plotly axis, in the viewer's zone.

Plotly.js draws a date given as a *string* exactly as written, but a date given as a number
(epoch milliseconds) in the browser's own zone, whatever the page asked for. So every time goes
out as a wall-clock string of the zone shown; a regular series goes out as its first time and
its step (``x0``/``dx``, missing buckets as gaps), which is smaller than a string per point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
import pandas as pd

WALL = "%Y-%m-%d %H:%M:%S"


def _utc_index(stamps: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(stamps)
    return idx.tz_localize(UTC) if idx.tz is None else idx.tz_convert(UTC)


def wall(ts: datetime | pd.Timestamp, tz: tzinfo) -> str:
    """One instant as the wall clock of ``tz`` (what a plotly date axis draws as is)."""
    t = pd.Timestamp(ts)
    t = t.tz_localize(UTC) if t.tzinfo is None else t
    return t.tz_convert(tz).strftime(WALL)


def walls(stamps: Sequence[Any] | pd.Index, tz: tzinfo) -> list[str]:
    return list(_utc_index(stamps).tz_convert(tz).strftime(WALL))


def time_xy(stamps: Any, values: np.ndarray, tz: tzinfo, *, max_gaps: int = 3
            ) -> dict[str, Any]:
    """A trace's x and y: ``x0``/``dx`` when the points sit on a regular grid (gaps filled with
    NaN, which plotly draws as breaks), else one string per point.

    The grid is only used while the zone's offset is the same over the series (a daylight
    saving change inside it would shift every later point by an hour).
    """
    idx = _utc_index(stamps)
    ys = np.asarray(values, dtype="float64")
    n = len(idx)
    if n >= 3:
        ms = idx.as_unit("ms").asi8
        steps = np.diff(ms)
        step = int(steps.min()) if len(steps) else 0
        if step > 0 and not (steps % step).any():
            size = int((ms[-1] - ms[0]) // step) + 1
            local = idx[[0, -1]].tz_convert(tz)
            same_offset = local[0].utcoffset() == local[1].utcoffset()
            if size <= max_gaps * n and same_offset:
                full = np.full(size, np.nan)
                full[(ms - ms[0]) // step] = ys
                return {"x0": wall(idx[0], tz), "dx": step, "y": full}
    return {"x": walls(idx, tz), "y": ys}
