"""Streamlit pieces of the Alarms page, the Overview's firing count and the sidebar badge.

The page stays thin: it reads the picker, calls :mod:`analytics.alarms` and hands the results
to these helpers, which only draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import streamlit as st

from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK, AlarmInfo, Transition
from analytics.alarms.service import MetricWindow, Segment, firing_counts
from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.figures import alarms as alarm_figures
from analytics.sources import Runtime

ICONS = {ALARM: "🔴", INSUFFICIENT_DATA: "⚪", OK: "🟢"}
ALARM_PARAM = "alarm"


def span(seconds: float) -> str:
    """``200000`` -> ``"2 d 7 h"``: how long a state has lasted, at a glance."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {(s % 3600) // 60} min"
    return f"{s // 86400} d {(s % 86400) // 3600} h"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def firing_caption(count: int | None) -> None:
    """The Overview's per-app line: a red badge while alarms fire (None: unknown)."""
    if count is None:
        st.caption("Alarms: not available right now")
    elif count:
        st.caption(f":red-badge[🚨 {_plural(count, 'alarm')} firing]")
    else:
        st.caption(":green-badge[No alarm firing]")


def sidebar_alarm_badge(rt: Runtime) -> int:
    """A red sidebar badge while any alarm of the user's apps fires; returns the count."""
    try:
        n = sum(firing_counts(rt, access.filter_apps(rt.catalog.apps)).values())
    except (UpstreamError, ValueError):
        return 0
    if n:
        st.sidebar.badge(f"{_plural(n, 'alarm')} firing", icon="🚨", color="red")
    return n


def state_summary(infos: Sequence[AlarmInfo]) -> None:
    """Three numbers: firing, insufficient data, OK."""
    cols = st.columns(3)
    for col, (state, label) in zip(cols, ((ALARM, "Firing"), (INSUFFICIENT_DATA,
                                   "Insufficient data"), (OK, "OK")), strict=True):
        with col:
            st.metric(f"{ICONS[state]} {label}", sum(i.state == state for i in infos),
                      border=True)


def alarm_rows(infos: Sequence[AlarmInfo], now: datetime) -> pd.DataFrame:
    """The table behind :func:`alarm_table` (one row per alarm, in the given order)."""
    rows = [{
        "State": f"{ICONS.get(i.state, '')} {i.state}", "App": i.app, "Alarm": i.name,
        "Since (UTC)": i.since.strftime("%Y-%m-%d %H:%M"), "For": span(i.duration_s(now)),
        "Condition": (f"{i.metric} {i.evaluation.describe()}" if i.evaluation
                      else i.rule or i.metric),
        "Reason": i.reason, "Console": i.console_url,
    } for i in infos]
    return pd.DataFrame(rows, columns=["State", "App", "Alarm", "Since (UTC)", "For",
                                       "Condition", "Reason", "Console"])


def alarm_table(infos: Sequence[AlarmInfo], now: datetime) -> None:
    frame = alarm_rows(infos, now)
    links = frame["Console"].notna().any()
    if not links:
        frame = frame.drop(columns=["Console"])
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "Console": st.column_config.LinkColumn("Console", display_text="open in AWS"),
        "Reason": st.column_config.TextColumn("Reason", width="large"),
    })


def alarm_picker(infos: Sequence[AlarmInfo], key: str = "alarm_pick") -> AlarmInfo:
    """Select box of the alarms (firing first), bound to ``?alarm=<app>/<name>``."""
    ids = [f"{i.app}/{i.name}" for i in infos]
    wanted = st.query_params.get(ALARM_PARAM)
    index = ids.index(wanted) if wanted in ids else 0
    choice = st.selectbox("Alarm", ids, index=index, key=key, format_func=lambda v: (
        f"{ICONS.get(infos[ids.index(v)].state, '')} {v}"))
    st.query_params[ALARM_PARAM] = choice
    return infos[ids.index(choice)]


def alarm_details(info: AlarmInfo, now: datetime) -> None:
    st.subheader(f"{ICONS.get(info.state, '')} {info.name}")
    st.markdown(f"**{info.state}** since {info.since:%Y-%m-%d %H:%M} UTC "
                f"(**{span(info.duration_s(now))}**) · app `{info.app}`")
    if info.evaluation:
        st.caption(f"{info.metric} — {info.evaluation.describe()}")
    elif info.rule:
        st.caption(f"Composite rule: `{info.rule}`")
    if info.description and info.description != info.metric:
        st.caption(info.description)
    if info.reason:
        st.caption(f"Reason: {info.reason}")
    if info.console_url:
        st.link_button("Open in the CloudWatch console", info.console_url)


def metric_chart(window: MetricWindow) -> None:
    """The alarm's datapoints around the transition, the threshold and the moment drawn."""
    if window.series.empty or window.info.evaluation is None:
        st.info(window.note or "No datapoints in this window.")
        return
    st.plotly_chart(alarm_figures.metric_figure(window), width="stretch")
    if window.note:
        st.caption(window.note)


def timeline_chart(info: AlarmInfo, segments: Sequence[Segment]) -> None:
    """The alarm's states over the range as coloured bars."""
    if not segments:
        st.info("No state known in this range.")
        return
    st.plotly_chart(alarm_figures.timeline_figure(info, segments), width="stretch")


def history_table(transitions: Sequence[Transition]) -> None:
    if not transitions:
        st.caption("No state change in this range.")
        return
    st.dataframe(pd.DataFrame([{
        "At (UTC)": t.at.strftime("%Y-%m-%d %H:%M"), "From": t.old, "To": t.new,
        "Reason": t.reason} for t in reversed(transitions)]), hide_index=True, width="stretch")
