"""Alarms: what fires (ALARM first), since when and for how long; one alarm in detail."""

import streamlit as st

from analytics import alarms
from analytics.alarm_config import AlarmConfigError
from analytics.cache import UpstreamError
from analytics.periods import PeriodError, utcnow
from analytics.ui import alarm_widgets as aw
from analytics.ui.context import (
    app_picker,
    footer,
    freshness,
    runtime,
    show_upstream_error,
    visible_apps,
)
from analytics.ui.timerange import LABELS, time_range_picker

rt = runtime()
apps = app_picker(visible_apps(rt))
tr = time_range_picker()
now = utcnow()

st.title("Alarms")
try:
    states = alarms.alarm_states(rt, apps)
except AlarmConfigError as exc:
    st.error(f"Alarm configuration error — {exc}")
    footer(rt)
    st.stop()
except UpstreamError as exc:
    show_upstream_error(exc)
    footer(rt)
    st.stop()
freshness(states.fetched_at, states.stale, states.error)
aw.state_summary(states.value)
if not states.value:
    st.info("No alarm is defined for the selected application(s).")
    footer(rt)
    st.stop()
aw.alarm_table(states.value, now)

chosen = aw.alarm_picker(states.value)
aw.alarm_details(chosen, now)
st.caption(f"History: {LABELS.get(tr.label, tr.label)} · {tr.start:%Y-%m-%d %H:%M} → "
           f"{tr.end:%Y-%m-%d %H:%M} UTC")
try:
    history = alarms.alarm_history(rt, chosen.app, chosen.name, tr.start, tr.end)
except UpstreamError as exc:
    show_upstream_error(exc)
else:
    transitions = history.value
    around = transitions[-1].at if transitions else chosen.since
    try:
        aw.metric_chart(alarms.alarm_metric_window(rt, chosen.app, chosen.name, around).value)
    except (UpstreamError, PeriodError) as exc:
        st.warning(f"The alarm's metric cannot be drawn: {exc}")
    aw.timeline_chart(chosen, alarms.state_segments(chosen, transitions, tr.start, tr.end))
    aw.history_table(transitions)
footer(rt)
