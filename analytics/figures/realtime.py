"""Figures of the Realtime page: one compact line chart per panel over the view's window."""

from __future__ import annotations

from datetime import UTC, tzinfo

import plotly.graph_objects as go

from analytics.core.fmt import zone_name
from analytics.figures.axes import time_xy, walls
from analytics.figures.theme import TEMPLATE
from analytics.realtime.service import Panel, RealtimeView


def panel_figure(panel: Panel, view: RealtimeView, *, tz: tzinfo = UTC) -> go.Figure:
    """A compact plotly line chart of one panel over the view's window, in ``tz``'s clock.

    Built as one dict (no ``add_trace``/``update_layout``, which revalidate on every call): the
    page redraws a dozen of these every few seconds.
    """
    traces = [{"type": "scatter", **time_xy(s.index, s.to_numpy("float64"), tz),
               "mode": "lines+markers", "name": label, "marker": {"size": 4},
               "cliponaxis": False, "hovertemplate": "%{x|%H:%M:%S} %{y:,.4g}"}
              for label, s in panel.lines.items()]
    layout = {
        "template": TEMPLATE, "title": {"text": panel.title, "font": {"size": 14}},
        "height": 250, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "showlegend": len(panel.lines) > 1, "legend": {"orientation": "h", "y": -0.25},
        "yaxis": {"title": {"text": panel.unit or None}},
        "xaxis": {"type": "date", "range": walls([view.start, view.end], tz),
                  "tickformat": "%H:%M", "title": {"text": zone_name(tz), "font": {"size": 10}}},
        "uirevision": panel.key,
    }
    return go.Figure(data=traces, layout=layout)
