"""Realtime: the last 15 minutes of one app — key service metrics and every custom metric —
redrawn in place every few seconds (interval in ``?every=``)."""

import streamlit as st

from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.realtime import (
    ingest_caption,
    refresh_picker,
    render_live,
    series_pickers,
    stat_picker,
)
from analytics.ui.zone import current_zone

rt = runtime()
[app] = app_picker(visible_apps(rt), allow_all=False)
every = refresh_picker()
stat = stat_picker()
tz = current_zone()  # read once: the fragment's reruns draw in the same zone
more, dims_filter = series_pickers(rt, app.id)

st.title(f"Realtime · {app.display_name}")
refresh = "refresh off" if every is None else f"refresh every {every:g} s"
st.caption("Last 15 minutes including the current minute · service metrics per minute, custom "
           f"metrics per 10 s · {refresh}")


@st.fragment(run_every=every)
def live() -> None:
    render_live(rt, app.id, stat=stat, tz=tz, more=more, dims_filter=dims_filter)


live()
ingest_caption(rt)
