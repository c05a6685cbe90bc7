"""Streamlit pieces of the Alarms page, the Overview's firing count and the sidebar badge.

The page stays thin: it reads the picker, calls :mod:`analytics.alarms` and hands the results
to these helpers, which only draw. State icons are Streamlit's Material icons (a font shipped
with Streamlit), not emoji, which render as empty boxes where no emoji font is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

import pandas as pd
import streamlit as st

from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK, AlarmInfo, Transition
from analytics.alarms.service import MetricWindow, Segment, firing_counts
from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.core.fmt import when, zone_name
from analytics.figures import alarms as alarm_figures
from analytics.sources import Runtime
from analytics.ui import tables
from analytics.ui.plots import show_figure

ICONS = {ALARM: ":material/notifications_active:", INSUFFICIENT_DATA: ":material/help:",
         OK: ":material/check_circle:"}
COLOURS = {ALARM: "red", INSUFFICIENT_DATA: "gray", OK: "green"}
#: Cell colours of the State column (a table cell cannot hold an icon).
CELL_STYLE = {ALARM: "background-color: #fde0e0; color: #a50e0e; font-weight: 600",
              INSUFFICIENT_DATA: "background-color: #eeeeee; color: #555555",
              OK: "background-color: #e3f4e5; color: #1e6b2c"}
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


def state_label(state: str) -> str:
    """``":red[:material/notifications_active: ALARM]"``: a state for markdown labels."""
    return f":{COLOURS.get(state, 'gray')}[{ICONS.get(state, '')} {state}]"


PENDING = "evaluating the last 14 days of alarm history (first start)…"


def firing_caption(count: int | None, *, pending: bool = False) -> None:
    """The Overview's per-app line: a red badge while alarms fire (None: unknown)."""
    if count is None:
        st.caption(f"Alarms: {PENDING}" if pending else "Alarms: not available right now")
    elif count:
        st.caption(f":red-badge[{ICONS[ALARM]} {_plural(count, 'alarm')} firing]")
    else:
        st.caption(":green-badge[No alarm firing]")


def sidebar_alarm_badge(rt: Runtime) -> int:
    """A red sidebar badge while any alarm of the user's apps fires; returns the count."""
    try:
        n = sum(firing_counts(rt, access.filter_apps(rt.catalog.apps)).values())
    except (UpstreamError, ValueError):
        return 0
    if n:
        st.sidebar.badge(f"{_plural(n, 'alarm')} firing", icon=ICONS[ALARM], color="red")
    return n


def state_summary(infos: Sequence[AlarmInfo]) -> None:
    """Three numbers: firing, insufficient data, OK."""
    cols = st.columns(3)
    for col, (state, label) in zip(cols, ((ALARM, "Firing"), (INSUFFICIENT_DATA,
                                   "Insufficient data"), (OK, "OK")), strict=True):
        with col:
            st.metric(f"{ICONS[state]} {label}", sum(i.state == state for i in infos),
                      border=True)


def alarm_rows(infos: Sequence[AlarmInfo], now: datetime, tz: tzinfo = UTC) -> pd.DataFrame:
    """The table behind :func:`alarm_table` (one row per alarm, in the given order)."""
    since = f"Since ({zone_name(tz)})"
    rows = [{
        "State": i.state, "App": i.app, "Alarm": i.name, since: when(i.since, tz),
        "For": span(i.duration_s(now)),
        "Condition": (f"{i.metric} {i.evaluation.describe()}" if i.evaluation
                      else i.rule or i.metric),
        "Reason": i.reason, "Console": i.console_url,
    } for i in infos]
    # What fires and on which condition first: the table is wider than the page, so the
    # columns past the Condition scroll.
    return pd.DataFrame(rows, columns=["State", "Alarm", "Condition", since, "For", "App",
                                       "Reason", "Console"])


def _width(texts: pd.Series, *, least: int = 120, most: int = 960) -> int:
    """Pixels that fit the longest text of a column (about 7 px a character)."""
    longest = int(texts.astype(str).str.len().max()) if len(texts) else 0
    return max(least, min(most, 7 * longest + 24))


def alarm_table(infos: Sequence[AlarmInfo], now: datetime, tz: tzinfo = UTC) -> None:
    frame = alarm_rows(infos, now, tz)
    if not frame["Console"].notna().any():
        frame = frame.drop(columns=["Console"])
    since = next(c for c in frame.columns if c.startswith("Since"))
    styled = frame.style.map(lambda s: CELL_STYLE.get(s, ""), subset=["State"])
    tables.show_table(styled, {
        "State": tables.text("State", width=140), "App": tables.text("App"),
        "Alarm": tables.text("Alarm", width=_width(frame["Alarm"], most=320)),
        since: tables.text(since, width=150), "For": tables.text("For", width=90),
        "Condition": tables.text("Condition", width=_width(frame["Condition"])),
        "Reason": tables.text("Reason", width="large"),
        "Console": tables.link("Console", display_text="open in AWS"),
    })


def alarm_picker(infos: Sequence[AlarmInfo], key: str = "alarm_pick") -> AlarmInfo:
    """Select box of the alarms (firing first), bound to ``?alarm=<app>/<name>``."""
    ids = [f"{i.app}/{i.name}" for i in infos]
    wanted = st.query_params.get(ALARM_PARAM)
    index = ids.index(wanted) if wanted in ids else 0
    choice = st.selectbox("Alarm", ids, index=index, key=key, format_func=lambda v: (
        f"{v} · {infos[ids.index(v)].state}"))
    st.query_params[ALARM_PARAM] = choice
    return infos[ids.index(choice)]


def alarm_details(info: AlarmInfo, now: datetime, tz: tzinfo = UTC) -> None:
    st.subheader(f"{ICONS.get(info.state, '')} {info.name}")
    st.markdown(f"**{state_label(info.state)}** since {when(info.since, tz)} {zone_name(tz)} "
                f"(**{span(info.duration_s(now))}**) · app `{info.app}`")
    if info.evaluation:
        st.caption(f"{info.metric} — {info.evaluation.describe()}")
    elif info.rule:
        st.caption(f"Composite rule: `{info.rule}`")
    if info.description and info.description != info.metric:
        st.caption(info.description)
    if info.reason:  # written by the evaluation (CloudWatch's or ours) with UTC times
        st.caption(f"Reason (times in UTC): {info.reason}")
    if info.console_url:
        st.link_button("Open in the CloudWatch console", info.console_url)


def metric_chart(window: MetricWindow, transitions: Sequence[Transition] = (), *,
                 tz: tzinfo = UTC) -> None:
    """The alarm's datapoints over the range, the threshold and every state change."""
    if window.series.empty or window.info.evaluation is None:
        st.info(window.note or "No datapoints in this range.")
        return
    if window.note:
        st.caption(window.note)
    show_figure(alarm_figures.metric_figure(window, transitions, tz=tz), width="stretch")


def timeline_chart(info: AlarmInfo, segments: Sequence[Segment],
                   transitions: Sequence[Transition] = (), *, tz: tzinfo = UTC,
                   start: datetime | None = None, end: datetime | None = None) -> None:
    """The alarm's states over the range as coloured bars, state changes marked."""
    if not segments:
        st.info("No state known in this range.")
        return
    show_figure(alarm_figures.timeline_figure(info, segments, transitions, tz=tz,
                                                  start=start, end=end), width="stretch")


def history_table(transitions: Sequence[Transition], tz: tzinfo = UTC) -> None:
    if not transitions:
        st.caption("No state change in this range.")
        return
    at = f"At ({zone_name(tz)})"
    frame = pd.DataFrame([{at: when(t.at, tz), "From": t.old, "To": t.new, "Reason": t.reason}
                          for t in reversed(transitions)], columns=[at, "From", "To", "Reason"])
    styled = frame.style.map(lambda s: CELL_STYLE.get(s, ""), subset=["From", "To"])
    tables.show_table(styled, {at: tables.text(at, width=150),
                               "From": tables.text("From", width=150),
                               "To": tables.text("To", width=150),
                               "Reason": tables.text("Reason", width="large")})
