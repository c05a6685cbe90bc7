"""Alarms: what fires (ALARM first), since when and for how long; one alarm in detail."""

import streamlit as st

from analytics.alarms import service as alarms
from analytics.core.cache import UpstreamError
from analytics.core.periods import PeriodError
from analytics.ui import alarm_widgets as aw
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.timerange import LABELS, time_range_picker

rt = runtime()
apps = app_picker(visible_apps(rt))
now = rt.now()
tr = time_range_picker(now=now)

st.title("Alarms")
states = alarms.alarm_states(rt, apps)
freshness(states)
aw.state_summary(states.value)
if not states.value:
    st.info("No alarm is defined for the selected application(s).")
    st.stop()
aw.alarm_table(states.value, now)

chosen = aw.alarm_picker(states.value)
aw.alarm_details(chosen, now)
st.caption(f"History: {LABELS.get(tr.label, tr.label)} · {tr.start:%Y-%m-%d %H:%M} → "
           f"{tr.end:%Y-%m-%d %H:%M} UTC")
history = alarms.alarm_history(rt, chosen.app, chosen.name, start=tr.start, end=tr.end)
transitions = history.value
around = transitions[-1].at if transitions else chosen.since
try:
    aw.metric_chart(alarms.alarm_metric_window(rt, chosen.app, chosen.name, around=around).value)
except (UpstreamError, PeriodError) as exc:
    st.warning(f"The alarm's metric cannot be drawn: {exc}")
aw.timeline_chart(chosen, alarms.state_segments(chosen, transitions, start=tr.start, end=tr.end))
aw.history_table(transitions)
