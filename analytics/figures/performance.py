"""Figures of the Performance page: a chart's panels as one plotly figure.

A :class:`~analytics.performance.sections.Chart` is drawn as **one** figure (a grid of panels
sharing the time axis): fewer, richer figures keep a page with dozens of metrics fast to build
and to render. Times are the viewer's wall clock (see :mod:`analytics.figures.axes`); a series
on its bucket grid goes out as a start and a step, not a date per point. Colours are fixed per
series name (p95 is always the same orange) unless two series of one chart would share a colour
(they share the legend), the previous window is the same colour dashed, an SLO is a red dashed
line and its breached spans shaded.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from datetime import UTC, tzinfo
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.core.fmt import zone_name
from analytics.figures.axes import time_xy, walls
from analytics.figures.theme import TEMPLATE
from analytics.performance.sections import PREVIOUS, SLO_PREFIX, Chart, Panel

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2",
           "#7f7f7f", "#bcbd22", "#d62728")
#: Fixed colours so the same statistic looks the same on every chart of every page.
COLOURS: dict[str, str] = {
    "p50": "#2ca02c", "p95": "#ff7f0e", "p99": "#9467bd", "Average": "#2ca02c",
    "Maximum": "#9467bd", "Requests": "#1f77b4", "Invocations": "#1f77b4",
    "4xx %": "#bcbd22", "5xx %": "#d62728", "Error %": "#d62728", "Throttles": "#8c564b",
    "Throttled": "#8c564b", "Concurrent (max)": "#17becf", "Read (RCU/s)": "#1f77b4",
    "Write (WCU/s)": "#ff7f0e", "Read": "#1f77b4", "Write": "#ff7f0e", "CPU %": "#1f77b4",
    "Connections": "#17becf", "Free storage GB": "#2ca02c", "Size GB": "#1f77b4",
    "Objects": "#ff7f0e", "Cold starts": "#1f77b4", "Init p50": "#2ca02c",
    "Init p95": "#ff7f0e",
}
SLO_COLOUR = "#d62728"
BREACH_FILL = "rgba(214, 39, 40, 0.13)"
ROW_HEIGHT = 210
FEW_POINTS = 40  # below this many points a series also gets markers (daily S3 data)


def colour(series: str) -> str:
    if series.startswith(SLO_PREFIX):
        return SLO_COLOUR
    return COLOURS.get(series, PALETTE[zlib.crc32(series.encode()) % len(PALETTE)])


def chart_colours(names: Sequence[str]) -> dict[str, str]:
    """A colour per series of one chart (one legend): each series' own colour unless an
    earlier series of the chart has it, then the first palette colour still free."""
    out: dict[str, str] = {}
    for name in dict.fromkeys(names):
        c = colour(name)
        if c in out.values() and not name.startswith(SLO_PREFIX):
            c = next((p for p in PALETTE if p not in out.values() and p != SLO_COLOUR), c)
        out[name] = c
    return out


def grid(panels: Sequence[Panel]) -> list[list[int]]:
    """Rows of panel indices: narrow panels pair up, wide ones (and a lone one) take a row."""
    rows: list[list[int]] = []
    pending: int | None = None
    for i, p in enumerate(panels):
        if p.wide:
            if pending is not None:
                rows.append([pending])
                pending = None
            rows.append([i])
        elif pending is None:
            pending = i
        else:
            rows.append([pending, i])
            pending = None
    if pending is not None:
        rows.append([pending])
    return rows


def _runs(p: Panel) -> list[tuple[str, str, slice]]:
    """(series, window, rows) runs of a panel's data: :func:`perf_sections.lines` writes each
    series/window contiguously, so slicing beats a pandas groupby on a page of many panels."""
    s, w = p.data["series"].to_numpy(), p.data["window"].to_numpy()
    cuts = [0, *(np.flatnonzero((s[1:] != s[:-1]) | (w[1:] != w[:-1])) + 1).tolist(), len(s)]
    return [(str(s[a]), str(w[a]), slice(a, b)) for a, b in itertools.pairwise(cuts)]


def _traces(p: Panel, axis: int, seen: set[str], colours: dict[str, str], tz: tzinfo
            ) -> list[dict[str, Any]]:
    suffix = "" if axis == 1 else str(axis)
    stamps = p.data["timestamp"]
    ys = p.data["value"].to_numpy("float64")
    out = []
    for name, window, rows in _runs(p):
        prev, slo = window == PREVIOUS, name.startswith(SLO_PREFIX)
        label = f"{name} (previous)" if prev else name
        n = rows.stop - rows.start
        out.append({
            "type": "scatter", **time_xy(stamps.iloc[rows], ys[rows], tz),
            "name": label, "legendgroup": label, "showlegend": label not in seen,
            "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
            "mode": "lines+markers" if n < FEW_POINTS and not slo else "lines",
            "cliponaxis": False,  # a point on the range's edge is drawn whole
            "line": {"color": colours[name], "width": 1.4 if prev or slo else 1.8,
                     "dash": "dash" if prev or slo else "solid"},
            "opacity": 0.6 if prev else 1.0,
            "hovertemplate": f"%{{y:,.4g}} {p.unit}<extra>{label}</extra>",
        })
        seen.add(label)
    return out


def _domains(rows: list[list[int]]) -> list[tuple[list[float], list[float]]]:
    """(x domain, y domain) of each panel in row order: an even grid with room for titles."""
    gap = 44.0 / (ROW_HEIGHT * len(rows))  # ~44 px between rows for the next row's title
    h = (1.0 - gap * (len(rows) - 1)) / len(rows)
    out = []
    for r, members in enumerate(rows):
        top = 1.0 - r * (h + gap)
        y = [max(0.0, top - h), top]
        if len(members) == 2:
            out += [([0.0, 0.465], y), ([0.535, 1.0], y)]
        else:
            out.append(([0.0, 1.0], y))
    return out


def _y_axis(p: Panel) -> dict[str, Any]:
    """Counts, rates and durations start at zero; a panel of zeros is drawn on 0..1, not on
    plotly's default -1..1 (a negative number of throttles means nothing)."""
    if p.data.empty:
        return {}
    values = p.data["value"].to_numpy("float64")
    if (values < 0).any():
        return {}
    if not (values > 0).any():
        return {"range": [0, 1], "tickvals": [0], "zeroline": False}
    return {"rangemode": "tozero"}


def figure(chart: Chart, *, tz: tzinfo = UTC) -> go.Figure:
    """The chart's panels as one plotly figure: a grid of panels sharing the time axis, times
    drawn as the wall clock of ``tz`` (named under the bottom axis).

    The layout is written as one dict (no ``make_subplots``, no per-trace ``add_trace``):
    building and validating it once keeps a page of many charts fast.
    """
    rows = grid(chart.panels)
    order = [i for r in rows for i in r]
    domains = _domains(rows)
    plot_px = ROW_HEIGHT * len(rows)
    layout: dict[str, Any] = {
        "template": TEMPLATE,
        "height": plot_px + 112, "margin": {"l": 56, "r": 8, "t": 80, "b": 40},
        "hovermode": "x unified", "showlegend": True,
        # above the first row's panel titles (~24 px)
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1 + 26 / plot_px, "x": 0},
    }
    traces: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    seen: set[str] = set()
    bottom = set(rows[-1])
    colours = chart_colours([str(s) for p in chart.panels if not p.data.empty
                             for s in p.data["series"].unique()])
    x_range = {} if chart.window is None else {  # the whole range, even if empty
        "range": walls(list(chart.window), tz)}
    for axis, (i, (xd, yd)) in enumerate(zip(order, domains, strict=True), start=1):
        p, suffix = chart.panels[i], "" if axis == 1 else str(axis)
        # The time axes are linked: only the bottom row repeats the dates.
        layout[f"xaxis{suffix}"] = {"domain": xd, "anchor": f"y{suffix}", "type": "date",
                                    "showticklabels": i in bottom, "automargin": False,
                                    **x_range,
                                    **({"matches": "x"} if axis > 1 else {})}
        layout[f"yaxis{suffix}"] = {"domain": yd, "anchor": f"x{suffix}", "automargin": False,
                                    **_y_axis(p)}
        notes.append({"text": p.title, "x": sum(xd) / 2, "y": yd[1], "xref": "paper",
                      "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                      "showarrow": False, "font": {"size": 13}})
        if not p.data.empty:
            traces += _traces(p, axis, seen, colours, tz)
        for a, b in p.spans:
            x0, x1 = walls([a, b], tz)
            shapes.append({"type": "rect", "xref": f"x{suffix}", "yref": f"y{suffix} domain",
                           "x0": x0, "x1": x1, "y0": 0, "y1": 1, "fillcolor": BREACH_FILL,
                           "line": {"width": 0}, "layer": "below"})
    notes.append({"text": f"times: {zone_name(tz)}", "x": 1, "y": 1 + 26 / plot_px,
                  "xref": "paper", "yref": "paper", "xanchor": "right", "yanchor": "bottom",
                  "showarrow": False, "font": {"size": 11, "color": "#808495"}})
    layout["annotations"], layout["shapes"] = notes, shapes
    return go.Figure(data=traces, layout=layout)


def bar_figure(frame: pd.DataFrame, x: str, panels: Sequence[tuple[str, Sequence[str]]]
               ) -> go.Figure:
    """Side-by-side bar panels over the same categories, e.g. cold starts per function.

    Written as one dict like :func:`figure` (``make_subplots`` and ``update_layout`` validate
    the layout path by path: most of a warm page's build time).
    """
    n = len(panels)
    gap = 0.1
    width = (1.0 - gap * (n - 1)) / n
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "template": TEMPLATE, "height": 300, "margin": {"l": 8, "r": 8, "t": 48, "b": 8},
        "barmode": "group", "annotations": [],
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0},
    }
    cats = frame[x].astype(str).tolist()
    for col, (title, ys) in enumerate(panels, start=1):
        suffix = "" if col == 1 else str(col)
        x0 = (col - 1) * (width + gap)
        layout[f"xaxis{suffix}"] = {"domain": [x0, x0 + width], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "rangemode": "tozero"}
        layout["annotations"].append({"text": title, "x": x0 + width / 2, "y": 1.0,
                                      "xref": "paper", "yref": "paper", "xanchor": "center",
                                      "yanchor": "bottom", "showarrow": False,
                                      "font": {"size": 13}})
        for y in ys:
            traces.append({"type": "bar", "x": cats, "y": frame[y].to_numpy("float64"),
                           "name": y, "marker": {"color": colour(y)},
                           "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
    return go.Figure(data=traces, layout=layout)
