"""The one door to ``st.plotly_chart``: figures carry their own look, Streamlit's theme is off.

See :mod:`analytics.figures.theme` for why; every page draws its plotly figures through here so
none can forget it.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from analytics.figures.theme import PALETTE, styled


def show_figure(fig: go.Figure, *, key: str | None = None, **options: Any) -> None:
    """Draw a figure with the dashboard's template (figures from :mod:`analytics.figures`
    already carry it; anything else is styled here)."""
    if tuple(fig.layout.template.layout.colorway or ()) != PALETTE:
        styled(fig)
    st.plotly_chart(fig, key=key, theme=None, **options)
