"""Figures of the Realtime page: one compact line chart per panel over the view's window."""

from __future__ import annotations

from datetime import UTC, tzinfo

import plotly.graph_objects as go

from analytics.core.fmt import zone_name
from analytics.figures.performance import wall_ms
from analytics.realtime.service import Panel, RealtimeView


def panel_figure(panel: Panel, view: RealtimeView, *, tz: tzinfo = UTC) -> go.Figure:
    """A compact plotly line chart of one panel over the view's window, in ``tz``'s clock."""
    fig = go.Figure()
    for label, s in panel.lines.items():
        fig.add_trace(go.Scatter(x=wall_ms(s.index, tz), y=s.to_numpy(), mode="lines+markers",
                                 name=label, marker={"size": 4}, cliponaxis=False,
                                 hovertemplate="%{x|%H:%M:%S} %{y:,.4g}"))
    fig.update_layout(
        title={"text": panel.title, "font": {"size": 14}}, height=250,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=len(panel.lines) > 1,
        legend={"orientation": "h", "y": -0.25}, yaxis_title=panel.unit or None,
        xaxis={"type": "date", "range": wall_ms([view.start, view.end], tz).tolist(),
               "tickformat": "%H:%M", "title": {"text": zone_name(tz), "font": {"size": 10}}},
        uirevision=panel.key,
    )
    return fig
