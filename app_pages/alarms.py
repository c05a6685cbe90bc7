"""Alarms: what fires (ALARM first), since when and for how long; one alarm in detail.

The chosen alarm's caption, metric chart, timeline and history all cover the picked range.
"""

import streamlit as st

from analytics.alarms import service as alarms
from analytics.core.cache import UpstreamError
from analytics.core.fmt import span_text
from analytics.core.periods import PeriodError
from analytics.ui import alarm_widgets as aw
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.timerange import preset_label, time_range_picker
from analytics.ui.zone import current_zone

rt = runtime()
apps = app_picker(visible_apps(rt))
now, tz = rt.now(), current_zone()
tr = time_range_picker(now=now, tz=tz)

st.title("Alarms")
states = alarms.alarm_states(rt, apps)
freshness(states)
if alarms.history_pending(rt):
    st.info(f"Alarms: {aw.PENDING} Apps not listed yet appear on the next refresh.",
            icon=":material/hourglass_top:")
aw.state_summary(states.value)
if not states.value:
    st.info("No alarm is defined for the selected application(s).")
    st.stop()
aw.alarm_table(states.value, now, tz)

chosen = aw.alarm_picker(states.value)
aw.alarm_details(chosen, now, tz)
history = alarms.alarm_history(rt, chosen.app, chosen.name, start=tr.start, end=tr.end)
transitions = history.value
changes = len(transitions)
st.caption(f"History: {preset_label(tr.label)} · {span_text(tr.start, tr.end, tz)} · "
           f"{changes} state change{'' if changes == 1 else 's'} in range (dotted lines)")
try:
    window = alarms.alarm_metric_range(rt, chosen.app, chosen.name, start=tr.start, end=tr.end)
    aw.metric_chart(window.value, transitions, tz=tz)
except (UpstreamError, PeriodError) as exc:
    st.warning(f"The alarm's metric cannot be drawn: {exc}")
aw.timeline_chart(chosen, alarms.state_segments(chosen, transitions, start=tr.start, end=tr.end),
                  transitions, tz=tz, start=tr.start, end=tr.end)
aw.history_table(transitions, tz)
