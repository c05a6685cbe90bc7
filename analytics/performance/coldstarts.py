"""The cold-start table: count, share of invocations, p50/p95 init duration per function.

Both sources answer with :data:`COLUMNS`, built through :func:`row` so the share is computed
one way: the aws source from CloudWatch Logs Insights over each function's log group, the local
source from the simulator's init-duration samples. ``log_source`` says what each row was counted
from (text REPORT lines, JSON ``platform.report`` records, SnapStart restores, which log group).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

COLUMNS = ["function", "invocations", "cold_starts", "share_pct", "init_p50_ms", "init_p95_ms",
           "note", "log_source"]


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def row(function: str, invocations: float | None, cold: float | None,
        *, p50: float | None = None, p95: float | None = None, note: str = "",
        log_source: str = "") -> dict[str, object]:
    """One table row; the share is computed here so both backends agree on it."""
    inv = int(invocations or 0)
    n = int(cold or 0)
    share = n / inv * 100.0 if inv else float("nan")
    return {"function": function, "invocations": inv, "cold_starts": n, "share_pct": share,
            "init_p50_ms": _num(p50) if n else float("nan"),
            "init_p95_ms": _num(p95) if n else float("nan"), "note": note,
            "log_source": log_source}


def frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """The cold-start table with the documented columns and dtypes."""
    out = pd.DataFrame(list(rows), columns=COLUMNS)
    for col in ("invocations", "cold_starts"):
        out[col] = out[col].astype("int64")
    for col in ("share_pct", "init_p50_ms", "init_p95_ms"):
        out[col] = out[col].astype("float64")
    out["note"] = out["note"].astype("object")
    out["log_source"] = out["log_source"].astype("object")
    return out


@dataclass(frozen=True)
class ColdStarts:
    table: pd.DataFrame
    source: str
    fetched_at: float
    stale: bool = False
    error: str | None = None

    @property
    def total(self) -> int:
        return int(self.table["cold_starts"].sum()) if len(self.table) else 0


def whole_window_period(start: datetime, end: datetime) -> int:
    """A period (multiple of 60 s) covering ``[start, end)`` in one bucket."""
    seconds = max(60.0, (end - start).total_seconds())
    return int(math.ceil(seconds / 60.0) * 60)
