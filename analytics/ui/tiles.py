"""Metric tiles with sparklines and the change against the previous window."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics.core.fmt import change, human
from analytics.overview.service import AppOverview, Tile

NO_PREVIOUS = "no data for the previous window"


def delta_of(t: Tile) -> dict[str, Any]:
    """``st.metric``'s delta arguments: the rounded change, coloured by whether it is good; a
    change that rounds to zero, or a previous window without data, is grey with no arrow."""
    shown = change(t.change_pct, "previous")
    if shown is None:
        if t.value is not None and t.previous is None:
            return {"delta": NO_PREVIOUS, "delta_color": "off", "delta_arrow": "off"}
        if t.previous == 0 and t.value == 0:  # none then, none now (throttles on a calm day)
            shown = change(0.0, "previous")
        elif t.previous == 0 and t.value:  # a percentage of nothing means nothing
            return {"delta": "none in the previous window",
                    "delta_color": "inverse" if t.lower_is_better else "normal"}
        else:
            return {"delta": None}
    assert shown is not None
    text, direction = shown
    if direction == "flat":
        return {"delta": text, "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text, "delta_color": "inverse" if t.lower_is_better else "normal"}


def tile(t: Tile) -> None:
    st.metric(
        t.label, human(t.value, t.unit), **delta_of(t),
        help=t.help, border=True,
        chart_data=[float(v) for v in t.spark.to_numpy()] if len(t.spark) > 1 else None,
        chart_type="line",
    )


def tile_row(ov: AppOverview) -> None:
    cols = st.columns(len(ov.tiles))
    for col, t in zip(cols, ov.tiles, strict=True):
        with col:
            tile(t)
