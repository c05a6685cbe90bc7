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


def _marks(fig: go.Figure, transitions: Sequence[Transition], tz: tzinfo) -> None:
    for t in transitions:
        fig.add_vline(x=_x(t.at, tz), line_dash="dot", line_width=1.5,
                      line_color=COLORS.get(t.new, "#555"))


def metric_figure(window: MetricWindow, transitions: Sequence[Transition] = (), *,
                  tz: tzinfo = UTC) -> go.Figure:
    """The datapoints as steps, the threshold dashed, each state change a dotted line coloured
    by the state it entered (the window's ``moment`` when no transition is given)."""
    info, ev = window.info, window.info.evaluation
    assert ev is not None  # only metric alarms with a threshold are drawn
    unit = f" {info.unit}" if info.unit else ""
    fig = go.Figure(go.Scatter(x=_xs(window.series.index, tz), y=window.series.to_numpy(),
                               mode="lines+markers" if len(window.series) < 200 else "lines",
                               name=info.metric or "value", line={"shape": "hv"},
                               cliponaxis=False))
    fig.add_hline(y=ev.threshold, line_dash="dash", line_color=COLORS[ALARM],
                  annotation_text=f"threshold {ev.symbol} {ev.threshold:g}{unit}")
    if transitions:
        _marks(fig, transitions, tz)
    elif window.moment is not None:
        fig.add_vline(x=_x(window.moment, tz), line_dash="dot", line_color="#555")
    bucket = window.bucket or ev.period
    fig.update_layout(template=TEMPLATE, height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      yaxis_title=info.unit or None, showlegend=False,
                      xaxis={"type": "date", "title": zone_name(tz),
                             "range": [_x(window.start, tz), _x(window.end, tz)]},
                      title=f"{info.metric} ({bucket // 60}-minute "
                            f"{'periods' if bucket == ev.period else 'buckets, worst value'})")
    return fig


def timeline_figure(info: AlarmInfo, segments: Sequence[Segment],
                    transitions: Sequence[Transition] = (), *, tz: tzinfo = UTC,
                    start: datetime | None = None, end: datetime | None = None) -> go.Figure:
    """One horizontal bar per state segment, coloured by state, state changes marked."""
    fig = go.Figure()
    for seg in segments:
        fig.add_trace(go.Bar(
            base=[_x(seg.start, tz)], x=[(seg.end - seg.start).total_seconds() * 1000],
            y=[info.name], orientation="h", marker_color=COLORS.get(seg.state, COLORS["unknown"]),
            name=seg.state, hovertext=f"{seg.state}: {local(seg.start, tz):%d/%m %H:%M} → "
                                      f"{local(seg.end, tz):%d/%m %H:%M} {zone_name(tz)}",
            hoverinfo="text", showlegend=False))
    _marks(fig, transitions, tz)
    x_range = ([_x(start, tz), _x(end, tz)] if start is not None and end is not None
               else None)
    fig.update_layout(template=TEMPLATE, height=140, barmode="stack",
                      margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"type": "date", "range": x_range}, yaxis={"showticklabels": False})
    return fig
