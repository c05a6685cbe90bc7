"""Lambda cold starts per function: count, share of invocations, p50/p95 init duration.

Both backends answer ``cold_starts(functions, start, end) -> DataFrame`` with
:data:`COLUMNS`: the aws backend from CloudWatch Logs Insights over each function's log group
(REPORT lines carry ``@initDuration`` only on a cold start), the local backend from the
simulator's init-duration samples. Logs Insights is billed per GB scanned and takes seconds, so
the answer is cached for 10 minutes (kind ``"logs"``) and the page only asks when the Lambda
section is open.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from analytics import access
from analytics.catalog import App
from analytics.periods import TimeRange

if TYPE_CHECKING:
    from datetime import datetime

    from analytics.runtime import Runtime

COLUMNS = ["function", "invocations", "cold_starts", "share_pct", "init_p50_ms", "init_p95_ms",
           "note"]


class ColdStartSource(Protocol):
    """What a backend implements for this module (both backends' ``*PerfMixin``)."""

    def cold_starts(self, functions: Sequence[str], start: datetime,
                    end: datetime) -> pd.DataFrame: ...


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def row(function: str, invocations: float | None, cold: float | None,
        p50: float | None = None, p95: float | None = None, note: str = "") -> dict[str, object]:
    """One table row; the share is computed here so both backends agree on it."""
    inv = int(invocations or 0)
    n = int(cold or 0)
    share = n / inv * 100.0 if inv else float("nan")
    return {"function": function, "invocations": inv, "cold_starts": n, "share_pct": share,
            "init_p50_ms": _num(p50) if n else float("nan"),
            "init_p95_ms": _num(p95) if n else float("nan"), "note": note}


def frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """The cold-start table with the documented columns and dtypes."""
    out = pd.DataFrame(list(rows), columns=COLUMNS)
    for col in ("invocations", "cold_starts"):
        out[col] = out[col].astype("int64")
    for col in ("share_pct", "init_p50_ms", "init_p95_ms"):
        out[col] = out[col].astype("float64")
    out["note"] = out["note"].astype("object")
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


def source_of(rt: Runtime) -> str:
    return ("CloudWatch Logs Insights over /aws/lambda/<function> (REPORT lines)"
            if rt.backend.name == "aws" else "the simulator's init-duration samples")


def cold_starts(rt: Runtime, app: App, tr: TimeRange) -> ColdStarts:
    """Cold starts of every function of ``app`` over ``tr`` (cached 10 minutes).

    Raises :class:`analytics.cache.UpstreamError` if the query fails with nothing cached
    (e.g. a Logs Insights time-out: the message says so).
    """
    access.require(app.id)
    fns = tuple(app.resources.lambdas)
    if not fns:
        return ColdStarts(frame([]), source_of(rt), 0.0)
    key = (app.id, fns, int(tr.start.timestamp()), int(tr.end.timestamp()))
    backend: ColdStartSource = rt.backend  # type: ignore[assignment]
    cached = rt.cache.get("logs", key, lambda: backend.cold_starts(fns, tr.start, tr.end))
    return ColdStarts(cached.value, source_of(rt), cached.fetched_at, cached.stale,
                      cached.error)


def whole_window_period(start: datetime, end: datetime) -> int:
    """A period (multiple of 60 s) covering ``[start, end)`` in one bucket."""
    seconds = max(60.0, (end - start).total_seconds())
    return int(math.ceil(seconds / 60.0) * 60)
