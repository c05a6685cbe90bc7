"""Metric tiles with sparklines and the change against the previous window."""

from __future__ import annotations

import streamlit as st

from analytics.core.fmt import human
from analytics.overview.service import AppOverview, Tile


def _delta(tile: Tile) -> str | None:
    change = tile.change_pct
    return None if change is None else f"{change:+.1f}% vs previous"


def tile(t: Tile) -> None:
    st.metric(
        t.label, human(t.value, t.unit), _delta(t),
        delta_color="inverse" if t.lower_is_better else "normal",
        help=t.help, border=True,
        chart_data=[float(v) for v in t.spark.to_numpy()] if len(t.spark) > 1 else None,
        chart_type="line",
    )


def tile_row(ov: AppOverview) -> None:
    cols = st.columns(len(ov.tiles))
    for col, t in zip(cols, ov.tiles, strict=True):
        with col:
            tile(t)
