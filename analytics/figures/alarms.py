"""Figures of the Alarms page: an alarm's metric and its state timeline over the same range.

Both figures share one time axis (the page's range, in the viewer's zone) and mark every state
change in it, so the caption, the metric and the timeline always show the same window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK, AlarmInfo, Transition
from analytics.alarms.service import MetricWindow, Segment
from analytics.core.fmt import local, zone_name
from analytics.figures.theme import TEMPLATE

COLORS = {ALARM: "#d62728", INSUFFICIENT_DATA: "#9e9e9e", OK: "#2ca02c", "unknown": "#e5e5e5"}


def _x(ts: datetime, tz: tzinfo) -> datetime:
    """Naive wall-clock time in ``tz``: what a plotly date axis draws as is."""
    return local(ts, tz).replace(tzinfo=None)


def _xs(index: pd.Index, tz: tzinfo) -> Any:
    return pd.DatetimeIndex(index).tz_convert(tz).tz_localize(None)


def _marks(transitions: Sequence[Transition], tz: tzinfo, yref: str = "paper"
           ) -> list[dict[str, Any]]:
    """A dotted line per state change, coloured by the state it entered."""
    return [{"type": "line", "xref": "x", "yref": yref, "x0": _x(t.at, tz), "x1": _x(t.at, tz),
             "y0": 0, "y1": 1, "line": {"dash": "dot", "width": 1.5,
                                        "color": COLORS.get(t.new, "#555")}}
            for t in transitions]


def metric_figure(window: MetricWindow, transitions: Sequence[Transition] = (), *,
                  tz: tzinfo = UTC) -> go.Figure:
    """The datapoints as steps, the threshold dashed, each state change a dotted line coloured
    by the state it entered (the window's ``moment`` when no transition is given).

    Written as one dict: ``add_hline``/``update_layout`` revalidate the figure on every call.
    """
    info, ev = window.info, window.info.evaluation
    assert ev is not None  # only metric alarms with a threshold are drawn
    unit = f" {info.unit}" if info.unit else ""
    shapes = [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1,
               "y0": ev.threshold, "y1": ev.threshold,
               "line": {"dash": "dash", "color": COLORS[ALARM]}}]
    if transitions:
        shapes += _marks(transitions, tz)
    elif window.moment is not None:
        x = _x(window.moment, tz)
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x,
                       "y0": 0, "y1": 1, "line": {"dash": "dot", "color": "#555"}})
    bucket = window.bucket or ev.period
    trace = {"type": "scatter", "x": _xs(window.series.index, tz),
             "y": window.series.to_numpy("float64"), "name": info.metric or "value",
             "mode": "lines+markers" if len(window.series) < 200 else "lines",
             "line": {"shape": "hv"}, "cliponaxis": False}
    layout = {
        "template": TEMPLATE, "height": 320, "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "showlegend": False, "yaxis": {"title": {"text": info.unit or None}},
        "xaxis": {"type": "date", "title": {"text": zone_name(tz)},
                  "range": [_x(window.start, tz), _x(window.end, tz)]},
        "title": {"text": f"{info.metric} ({period_label(bucket, worst=window.worst_of_bucket)})"},
        "shapes": shapes,
        "annotations": [{"xref": "paper", "yref": "y", "x": 1, "y": ev.threshold,
                         "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                         "text": f"threshold {ev.symbol} {ev.threshold:g}{unit}"}],
    }
    return go.Figure(data=[trace], layout=layout)


def timeline_figure(info: AlarmInfo, segments: Sequence[Segment],
                    transitions: Sequence[Transition] = (), *, tz: tzinfo = UTC,
                    start: datetime | None = None, end: datetime | None = None) -> go.Figure:
    """One horizontal bar per state segment, coloured by state, state changes marked."""
    traces = [{
        "type": "bar", "base": [_x(seg.start, tz)],
        "x": [(seg.end - seg.start).total_seconds() * 1000], "y": [info.name],
        "orientation": "h", "marker": {"color": COLORS.get(seg.state, COLORS["unknown"])},
        "name": seg.state, "hoverinfo": "text", "showlegend": False,
        "hovertext": f"{seg.state}: {local(seg.start, tz):%d/%m %H:%M} → "
                     f"{local(seg.end, tz):%d/%m %H:%M} {zone_name(tz)}",
    } for seg in segments]
    x_range = ([_x(start, tz), _x(end, tz)] if start is not None and end is not None
               else None)
    layout = {"template": TEMPLATE, "height": 140, "barmode": "stack",
              "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
              "xaxis": {"type": "date", "range": x_range},
              "yaxis": {"showticklabels": False}, "shapes": _marks(transitions, tz)}
    return go.Figure(data=traces, layout=layout)


def period_label(seconds: int, *, worst: bool = False) -> str:
    """``10`` -> "10-second periods", ``300`` -> "5-minute periods" (or "buckets, worst value"
    when each point is the worst of several periods)."""
    unit = f"{seconds}-second" if seconds % 60 else f"{seconds // 60}-minute"
    return f"{unit} {'buckets, worst value' if worst else 'periods'}"
