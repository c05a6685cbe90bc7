"""Streamlit blocks of the Performance page: charts with their CSV, sections, URL state.

Every chart gets a CSV download of :meth:`Chart.frame` — the very frame the figure is drawn
from — built only when clicked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from cachetools import LRUCache

from analytics.core.catalog import App
from analytics.core.fmt import clock, zone_name
from analytics.figures.performance import bar_figure, figure
from analytics.performance.page import DiscoveryNote
from analytics.performance.sections import Chart, Section
from analytics.ui import tables
from analytics.ui.plots import show_figure


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The CSV written by every download button (UTC ISO timestamps)."""
    return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode()


def download(frame_of: Callable[[], pd.DataFrame], key: str, *, file_name: str,
             label: str = "CSV of this chart") -> None:
    """A CSV download built only when clicked (a page of many charts stays fast)."""
    st.download_button(label, data=lambda: csv_bytes(frame_of()), file_name=file_name,
                       mime="text/csv", key=f"csv_{key}", icon=":material/download:",
                       type="tertiary")


#: Figures already built, by (page token, chart key, zone): plotly validates every property
#: when a figure is built, the dearest step of drawing a warm page; a figure is never mutated.
_figures: LRUCache[tuple[object, ...], go.Figure] = LRUCache(maxsize=256)
_figures_lock = threading.Lock()


def chart_figure(chart: Chart, *, tz: tzinfo = UTC, token: tuple[object, ...] = ()) -> go.Figure:
    """The chart's figure, built once per ``token`` (empty: always built)."""
    key = (token, chart.key, zone_name(tz))
    with _figures_lock:
        fig = _figures.get(key) if token else None
    if fig is None:
        fig = figure(chart, tz=tz)
        if token:
            with _figures_lock:
                _figures[key] = fig
    return fig


def show_chart(chart: Chart, file_stem: str = "", *, tz: tzinfo = UTC,
               token: tuple[object, ...] = ()) -> None:
    """The chart's figure (times in ``tz``), then a CSV download of exactly the data drawn."""
    if chart.empty:
        st.caption(f"No datapoints for **{chart.title}** in this range — check that the name "
                   "in apps.toml matches the CloudWatch dimension.")
        return
    show_figure(chart_figure(chart, tz=tz, token=token), key=f"fig_{chart.key}",
                    config={"displaylogo": False})
    download(chart.frame, chart.key, file_name=f"{file_stem or chart.key}.csv")


# --- URL-bound page state -------------------------------------------------------------------

def url_toggle(label: str, param: str, help: str | None = None) -> bool:
    """A sidebar toggle kept in ``?<param>=1`` so a shared link reproduces the view."""
    on = str(st.query_params.get(param, "")).lower() in ("1", "true", "yes", "on")
    value = st.sidebar.toggle(label, value=on, key=f"qp_{param}", help=help)
    if value:
        st.query_params[param] = "1"
    elif param in st.query_params:
        del st.query_params[param]
    return bool(value)


def open_from_url(valid: Sequence[str], param: str = "open") -> set[str]:
    """Section keys listed in ``?open=a,b`` (all when absent, unknown keys ignored)."""
    raw = st.query_params.get(param)
    if raw is None:
        return set(valid)
    return {k.strip() for k in str(raw).split(",") if k.strip() in valid}


def section(key: str, label: str, expanded: bool) -> Any:
    """A state-tracking expander: its ``.open`` says whether to draw (closed ones cost nothing).

    Opening or closing it reruns the page, which then writes the open set to the URL.
    """
    return st.expander(label, expanded=expanded, key=f"section_{key}", on_change="rerun")


def remember_open(keys: Sequence[str], param: str = "open") -> None:
    value = ",".join(keys)
    if st.query_params.get(param) != value:
        st.query_params[param] = value


# --- Performance page blocks ----------------------------------------------------------------

def show_discovery(app: App, d: DiscoveryNote, tz: tzinfo = UTC) -> None:
    """Say that the resources shown were discovered by tag (or why none are shown)."""
    if d.error and not d.fetched_at:
        st.warning(f"apps.toml lists no resources for {app.display_name}, and discovering them "
                   f"by the tag `{d.tag}` failed: {d.error}")
    elif d.count == 0:
        st.warning(f"apps.toml lists no resources for {app.display_name} and nothing is tagged "
                   f"`{d.tag}`: list them under `[apps.{app.id}.resources]` in apps.toml, or "
                   "tag them.")
    else:
        st.info(f"apps.toml lists no resources for {app.display_name}: the {d.count} resources "
                f"below were discovered by the tag `{d.tag}` (as of {clock(d.fetched_at, tz)}"
                f"{', stale' if d.stale else ''}). List them under `[apps.{app.id}.resources]` "
                "to pin them.", icon=":material/travel_explore:")


def show_section_body(sec: Section, *, tz: tzinfo = UTC, token: tuple[object, ...] = ()
                      ) -> None:
    """A section's note and, per resource, its name, one-line summary and chart."""
    if sec.note:  # the section explains its emptiness once (e.g. S3's daily metrics)
        st.caption(sec.note)
    for res in sec.resources:
        if sec.note and res.chart.empty:
            continue
        flag = ":orange[:material/warning:] " if res.alert else ""
        st.markdown(f"##### {flag}{res.name}")
        st.caption(res.summary)
        show_chart(res.chart, tz=tz, token=token)


COLD_START_CONFIG = {
    "function": tables.text("Function"),
    "invocations": tables.count("Invocations"),
    "cold_starts": tables.count("Cold starts"),
    "share_pct": tables.percent("Share of invocations", decimals=2),
    "init_p50_ms": tables.ms("Init p50"),
    "init_p95_ms": tables.ms("Init p95"),
    "note": tables.text("Note"),
    "log_source": tables.text(
        "Counted from", help="Text REPORT lines or JSON platform.report records (the function's "
        "log format), SnapStart restores, and the log group when it is not /aws/lambda/<name>"),
}


def show_cold_starts(table: pd.DataFrame, key: str, source: str) -> None:
    """Cold starts per function: count and init-duration bars, the table and its CSV."""
    st.markdown("##### Cold starts")
    st.caption(f"From {source}. Share = cold starts / invocations; init duration is the "
               "extra start-up time of a cold start.")
    if len(table) and int(table["cold_starts"].sum()) > 0:
        drawn = table.rename(columns={"cold_starts": "Cold starts", "init_p50_ms": "Init p50",
                                      "init_p95_ms": "Init p95"})
        show_figure(bar_figure(drawn, "function", [
            ("Cold starts", ["Cold starts"]), ("Init duration (ms)", ["Init p50", "Init p95"]),
        ]), key=f"fig_{key}", config={"displaylogo": False})
    else:
        st.caption("No cold starts in this range.")
    shown = table if table["note"].astype(bool).any() else table.drop(columns="note")
    tables.show_table(shown, COLD_START_CONFIG)
    download(lambda: table, key, file_name=f"{key}.csv", label="CSV of cold starts")
