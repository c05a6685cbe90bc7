"""What the Performance page draws, as plain data: panels of series, charts and sections.

Everything here is computed from the page's one tidy metrics frame (see
:mod:`analytics.performance.service`), without streamlit or plotly, so the derived numbers (error
rates, SLO breach spans, unit conversions, the previous window shifted onto the current axis) are
tested as data and the CSV export is *by construction* the data drawn: the chart helper draws
:meth:`Chart.frame` and the download button serialises the same frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from analytics.core.periods import TimeRange

CURRENT = "current"
PREVIOUS = "previous"
#: Columns of a panel's data and (with ``panel`` first) of a chart's CSV export.
LINE_COLUMNS = ["series", "window", "timestamp", "value"]
DRAWN_COLUMNS = ["panel", *LINE_COLUMNS]

Span = tuple[pd.Timestamp, pd.Timestamp]


def _empty_lines() -> pd.DataFrame:
    return pd.DataFrame({
        "series": pd.Series(dtype="object"), "window": pd.Series(dtype="object"),
        "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
        "value": pd.Series(dtype="float64"),
    })


@dataclass(frozen=True)
class Panel:
    """One plot area: a few series sharing a unit (e.g. latency p50/p95/p99 in ms).

    ``data`` holds every point drawn (previous-window points already shifted onto the current
    axis); ``spans`` are the shaded intervals (SLO breaches); ``wide`` asks for a full row.
    """

    title: str
    unit: str
    data: pd.DataFrame = field(compare=False, repr=False)
    spans: tuple[Span, ...] = ()
    wide: bool = False

    @property
    def empty(self) -> bool:
        return self.data.empty


@dataclass(frozen=True)
class Chart:
    """One figure (a grid of panels sharing the time axis) and its CSV export."""

    key: str
    title: str
    panels: tuple[Panel, ...]
    #: The time axis shown (the whole range, even where a resource has no data yet).
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None

    @property
    def empty(self) -> bool:
        """True when no panel has a single point (the resource reported nothing)."""
        return all(p.empty or set(p.data["series"]) <= _reference_series(p) for p in self.panels)

    def frame(self) -> pd.DataFrame:
        """Exactly the points drawn, panel by panel: ``panel, series, window, timestamp, value``.

        Previous-window rows carry the timestamp they are drawn at (shifted by the window
        length), so the file matches the picture.
        """
        parts = [p.data.assign(panel=p.title)[DRAWN_COLUMNS] for p in self.panels
                 if not p.data.empty]
        if not parts:
            return _empty_lines().assign(panel=pd.Series(dtype="object"))[DRAWN_COLUMNS]
        return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class ResourceView:
    """One API / function / table / instance / bucket: its chart and a one-line summary."""

    name: str
    chart: Chart
    summary: str
    alert: bool = False


@dataclass(frozen=True)
class Section:
    """One service of the page. ``empty_message`` says what to configure when it has nothing."""

    key: str
    title: str
    resources: tuple[ResourceView, ...] = ()
    empty_message: str | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        """The expander label: service, how many resources, and a flag if one needs a look."""
        if not self.resources:
            return f"{self.title} · not configured"
        flag = " · :material/warning: " + ", ".join(r.name for r in self.resources if r.alert) \
            if any(r.alert for r in self.resources) else ""
        return f"{self.title} · {len(self.resources)}{flag}"


# --- series helpers -------------------------------------------------------------------------

class Lookup:
    """Series of the tidy frame by ``(resource, metric, stat)``, indexed by timestamp.

    Grouping once keeps a page with dozens of resources at one pass over the frame.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._series: dict[tuple[str, str, str], pd.Series] = {}
        if frame.empty:
            return
        for key, g in frame.groupby(["resource", "metric", "stat"], sort=False):
            s = pd.Series(g["value"].to_numpy(), index=pd.DatetimeIndex(g["timestamp"]))
            # three string group keys: every label is (resource, metric, stat)
            self._series[cast("tuple[str, str, str]", key)] = s.sort_index()

    def get(self, resource: str, metric: str, stat: str) -> pd.Series:
        s = self._series.get((resource, metric, stat))
        if s is None:
            return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
        return s


def rate_pct(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator * 100`` per bucket; buckets with no denominator are dropped.

    A bucket without errors has no error datapoint on some metrics: it counts as 0 errors.
    """
    den = denominator[denominator > 0]
    num = numerator.reindex(den.index, fill_value=0.0)
    return (num / den * 100.0).astype("float64")


def split_windows(s: pd.Series, tr: TimeRange) -> tuple[pd.Series, pd.Series]:
    """(current, previous shifted onto the current axis) parts of a series.

    ``s`` is indexed by timestamp, as every :class:`Lookup` series is.
    """
    start = pd.Timestamp(tr.start)
    cur = s[s.index >= start]
    prev = s[s.index < start]
    if len(prev):
        stamps = cast(pd.DatetimeIndex, prev.index)
        prev = pd.Series(prev.to_numpy(), index=stamps + pd.Timedelta(seconds=tr.seconds))
    return cur, prev


def lines(tr: TimeRange, series: Mapping[str, pd.Series], compare: bool) -> pd.DataFrame:
    """Long frame (series, window, timestamp, value) of named series, current then previous.

    Built as four arrays and one frame: a page has ~100 series, and a frame per piece would be
    most of the page's build time.
    """
    labels: list[tuple[str, str, int]] = []
    stamps: list[pd.DatetimeIndex] = []
    values: list[np.ndarray] = []
    for name, s in series.items():
        cur, prev = split_windows(s, tr)
        windows = [(CURRENT, cur), (PREVIOUS, prev)] if compare else [(CURRENT, cur)]
        for window, part in windows:
            if len(part):
                labels.append((name, window, len(part)))
                stamps.append(pd.DatetimeIndex(part.index))
                values.append(part.to_numpy("float64"))
    if not labels:
        return _empty_lines()
    counts = [n for _, _, n in labels]
    return pd.DataFrame({
        "series": np.repeat(np.array([a for a, _, _ in labels], dtype=object), counts),
        "window": np.repeat(np.array([w for _, w, _ in labels], dtype=object), counts),
        "timestamp": stamps[0].append(stamps[1:]) if len(stamps) > 1 else stamps[0],
        "value": np.concatenate(values),
    })


def breach_spans(s: pd.Series, threshold: float, period: int) -> tuple[Span, ...]:
    """Contiguous runs of buckets above ``threshold`` as (start, end) spans.

    A bucket covers ``[t, t + period)``; a missing bucket (no traffic) ends a run.
    """
    above = s[s > threshold].sort_index()
    if above.empty:
        return ()
    step = pd.Timedelta(seconds=period)
    spans: list[Span] = []
    run_start = prev = above.index[0]
    for ts in above.index[1:]:
        if ts - prev != step:
            spans.append((run_start, prev + step))
            run_start = ts
        prev = ts
    spans.append((run_start, prev + step))
    return tuple(spans)


SLO_PREFIX = "SLO"


def slo_line(tr: TimeRange, target: float, label: str) -> pd.DataFrame:
    """The SLO as a drawn series: the target at the window's start and end."""
    return pd.DataFrame({
        "series": f"{SLO_PREFIX} {label}", "window": CURRENT,
        "timestamp": pd.DatetimeIndex([tr.start, tr.end]), "value": [target, target],
    })


def _reference_series(p: Panel) -> set[str]:
    return {s for s in p.data["series"].unique() if str(s).startswith(SLO_PREFIX)} \
        if not p.data.empty else set()


def panel(title: str, unit: str, *, tr: TimeRange, series: Mapping[str, pd.Series],
          compare: bool, wide: bool = False, spans: Sequence[Span] = (),
          extra: pd.DataFrame | None = None) -> Panel:
    data = lines(tr, series, compare)
    if extra is not None and not data.empty:
        data = pd.concat([data, extra], ignore_index=True)
    return Panel(title, unit, data, tuple(spans), wide)


def total(s: pd.Series) -> float | None:
    return float(s.sum()) if len(s) else None


def peak(s: pd.Series) -> float | None:
    return float(s.max()) if len(s) else None
