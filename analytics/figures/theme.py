"""The look of every figure, carried by the figure itself: a small plotly template.

Why not Streamlit's chart theme: Streamlit re-themes a figure in the browser by rewriting the
whole spec (a JSON round trip and dozens of string replacements) each time a chart is drawn,
which made a page of a dozen multi-panel figures take seconds to appear. Pages draw figures
with ``theme=None`` and this template instead; the cost-review pack draws the same figures.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

#: Streamlit's light categorical colours, in order (the default colour cycle).
PALETTE = ("#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700",
           "#ffd16a", "#6d3fc0", "#d5dae5")
TEXT = "#31333f"
FADED = "#808495"
GRID = "#e6eaf1"
FONT = "Source Sans Pro, Source Sans, sans-serif"

_AXIS: dict[str, Any] = {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID,
                         "tickfont": {"color": FADED, "size": 12}, "title": {"standoff": 8},
                         "automargin": True}
TEMPLATE: dict[str, Any] = {"layout": {
    "font": {"family": FONT, "color": TEXT, "size": 13},
    "title": {"font": {"size": 15}, "x": 0, "xanchor": "left"},
    "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "colorway": list(PALETTE),
    "xaxis": _AXIS, "yaxis": _AXIS,
    "legend": {"font": {"size": 12}},
    "hoverlabel": {"font": {"family": FONT}},
}}


def styled(fig: go.Figure) -> go.Figure:
    """``fig`` with the dashboard's template (replacing Streamlit's default one)."""
    fig.update_layout(template=TEMPLATE)
    return fig
