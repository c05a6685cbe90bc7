"""The Costs page's chart and table blocks: every one with a CSV of exactly what it shows."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "data"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def show_chart(fig: go.Figure, data: pd.DataFrame, name: str) -> None:
    """The chart and a CSV download of exactly the data it draws."""
    st.plotly_chart(fig, key=f"chart-{slug(name)}")
    st.download_button(f"CSV: {name}", csv_bytes(data), file_name=f"{slug(name)}.csv",
                       mime="text/csv", key=f"csv-chart-{slug(name)}", on_click="ignore")


def show_table(frame: pd.DataFrame, name: str) -> None:
    st.dataframe(frame, hide_index=True)
    st.download_button(f"CSV: {name}", csv_bytes(frame), file_name=f"{slug(name)}.csv",
                       mime="text/csv", key=f"csv-table-{slug(name)}", on_click="ignore")
