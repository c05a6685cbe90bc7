"""Every table of the dashboard goes through :func:`show_table`: a human header and a format for
each column, "—" where a value is missing.

The frames behind tables (and their CSV downloads) keep machine names (``cost_usd``) and plain
numbers, so a CSV stays easy to process; only the drawn table is made for people. A column
without a config is a bug (it would show ``snake_case`` and raw numbers), so it raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
import streamlit as st

MISSING = "—"
Columns = Mapping[str, Any]  # column name -> st.column_config.* (or None to hide it)


def text(label: str, *, width: str | int | None = None, help: str | None = None) -> Any:
    return st.column_config.TextColumn(label, width=width, help=help)  # type: ignore[arg-type]  # Streamlit accepts the width names and pixels


def count(label: str, *, help: str | None = None) -> Any:
    """Whole numbers with thousands separators: ``63,745``."""
    return st.column_config.NumberColumn(label, format="%,.0f", help=help)


def number(label: str, *, decimals: int = 2, suffix: str = "", help: str | None = None) -> Any:
    tail = f" {suffix}" if suffix else ""
    return st.column_config.NumberColumn(label, format=f"%,.{decimals}f{tail}", help=help)


def money(label: str, *, decimals: int = 2, help: str | None = None) -> Any:
    """US dollars: ``$1,167.18`` (``decimals=4`` for unit costs such as $0.0348)."""
    return st.column_config.NumberColumn(label, format=f"$%,.{decimals}f", help=help)


def percent(label: str, *, decimals: int = 1, help: str | None = None) -> Any:
    """A value already in percent (``12.5`` -> ``12.5%``)."""
    return st.column_config.NumberColumn(label, format=f"%.{decimals}f%%", help=help)


def ms(label: str, *, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="%,.0f ms", help=help)


def day(label: str) -> Any:
    """A calendar day (Cost Explorer's days are UTC days: say so in the label)."""
    return st.column_config.DateColumn(label, format="YYYY-MM-DD")


def link(label: str, *, display_text: str) -> Any:
    return st.column_config.LinkColumn(label, display_text=display_text)


def show_table(frame: pd.DataFrame | Any, columns: Columns, *, key: str | None = None,
               height: int | Literal["auto", "stretch", "content"] = "auto") -> None:
    """Draw ``frame`` (or a pandas Styler of it) with a header and format for every column."""
    data = frame.data if hasattr(frame, "data") and not isinstance(frame, pd.DataFrame) \
        else frame
    unconfigured = [c for c in data.columns if c not in columns]
    if unconfigured:
        raise ValueError(f"table columns without a header and format: {unconfigured}")
    st.dataframe(frame, hide_index=True, width="stretch", column_config=dict(columns),
                 placeholder=MISSING, key=key, height=height)
