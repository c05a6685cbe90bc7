"""The Costs page's chart and table blocks: every one with a CSV of exactly what it shows.

Tables are drawn with a human header and a format per column (money, percent, counts; "—"
where a value is missing); their CSV keeps the machine names and plain numbers.
"""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.ui import tables
from analytics.ui.plots import show_figure

#: Headers and formats of every column the Costs page's tables hold.
COLUMNS: dict[str, object] = {
    "app": tables.text("App"), "period": tables.text("Period"),
    "month_to_date_usd": tables.money("Month to date"),
    "same_days_last_month_usd": tables.money("Same days last month"),
    "change_pct": tables.percent("Change"),
    "last_month_usd": tables.money("Last month"),
    "forecast_month_usd": tables.money("Forecast"),
    "budget_usd": tables.money("Budget"),
    "over_budget": st.column_config.CheckboxColumn("Over budget"),
    "anomaly_id": tables.text("Anomaly"), "start": tables.day("From (UTC day)"),
    "end": tables.day("To (last UTC day)"), "service": tables.text("Service"),
    "actual_usd": tables.money("Actual"), "expected_usd": tables.money("Expected"),
    "impact_usd": tables.money("Impact"), "impact_pct": tables.percent("Impact %"),
    "score": tables.number("Score", decimals=2),
    "days": tables.count("Days"), "cost_usd": tables.money("Cost"),
    "requests": tables.count("API requests"),
    "cost_per_1k_requests_usd": tables.money("Cost per 1,000 requests", decimals=4),
    "mau": tables.count("MAU"), "cost_per_mau_usd": tables.money("Cost per MAU", decimals=4),
    "target_usd": tables.money("Target"), "note": tables.text("Note", width="large"),
    "api": tables.text("API"), "calls": tables.count("Calls"),
    "retries": tables.count("Retries", help="Attempts after the first; each one is billed"),
    "billable_units": tables.count("Billable units"),
    "usd_since_start": tables.money("Since process start", decimals=4),
    "price_basis": tables.text("Price basis", width="large"),
}


def forecast_columns(level: int) -> dict[str, object]:
    return {f"forecast_low_{level}_usd": tables.money(f"Forecast low ({level}%)"),
            f"forecast_high_{level}_usd": tables.money(f"Forecast high ({level}%)")}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "data"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def show_chart(fig: go.Figure, data: pd.DataFrame, name: str) -> None:
    """The chart and a CSV download of exactly the data it draws."""
    show_figure(fig, key=f"chart-{slug(name)}")
    st.download_button(f"CSV: {name}", csv_bytes(data), file_name=f"{slug(name)}.csv",
                       mime="text/csv", key=f"csv-chart-{slug(name)}", on_click="ignore")


def show_table(frame: pd.DataFrame, name: str, *, extra: dict[str, object] | None = None
               ) -> None:
    """The table with human headers and formats, and a CSV download of its raw frame."""
    tables.show_table(frame, {**COLUMNS, **(extra or {})})
    st.download_button(f"CSV: {name}", csv_bytes(frame), file_name=f"{slug(name)}.csv",
                       mime="text/csv", key=f"csv-table-{slug(name)}", on_click="ignore")
