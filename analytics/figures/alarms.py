"""Figures of the Alarms page: an alarm's metric around a transition, and its state timeline."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK, AlarmInfo
from analytics.alarms.service import MetricWindow, Segment

COLORS = {ALARM: "#d62728", INSUFFICIENT_DATA: "#9e9e9e", OK: "#2ca02c", "unknown": "#e5e5e5"}


def metric_figure(window: MetricWindow) -> go.Figure:
    """The datapoints as steps, the threshold dashed and the moment dotted."""
    info, ev = window.info, window.info.evaluation
    assert ev is not None  # only metric alarms with a threshold are drawn
    unit = f" {info.unit}" if info.unit else ""
    fig = go.Figure(go.Scatter(x=window.series.index, y=window.series.to_numpy(),
                               mode="lines+markers", name=info.metric or "value",
                               line={"shape": "hv"}))
    fig.add_hline(y=ev.threshold, line_dash="dash", line_color=COLORS[ALARM],
                  annotation_text=f"threshold {ev.symbol} {ev.threshold:g}{unit}")
    fig.add_vline(x=window.moment, line_dash="dot", line_color="#555")
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      yaxis_title=info.unit or None, showlegend=False,
                      title=f"{info.metric} ({period_label(window.period or ev.period)})")
    return fig


def period_label(seconds: int) -> str:
    """``10`` -> "10-second periods", ``300`` -> "5-minute periods"."""
    if seconds % 60:
        return f"{seconds}-second periods"
    return f"{seconds // 60}-minute periods"


def timeline_figure(info: AlarmInfo, segments: Sequence[Segment]) -> go.Figure:
    """One horizontal bar per state segment, coloured by state."""
    fig = go.Figure()
    for seg in segments:
        fig.add_trace(go.Bar(
            base=[seg.start], x=[(seg.end - seg.start).total_seconds() * 1000], y=[info.name],
            orientation="h", marker_color=COLORS.get(seg.state, COLORS["unknown"]),
            name=seg.state, hovertext=f"{seg.state}: {seg.start:%d/%m %H:%M} → "
                                      f"{seg.end:%d/%m %H:%M}", hoverinfo="text",
            showlegend=False))
    fig.update_layout(height=140, barmode="stack", margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"type": "date"}, yaxis={"showticklabels": False})
    return fig
