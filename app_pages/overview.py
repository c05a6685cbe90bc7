"""Overview: one row of tiles per application, with its firing alarms."""

import streamlit as st

from analytics.overview.service import overview
from analytics.ui.alarm_widgets import firing_caption
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.tiles import tile_row
from analytics.ui.timerange import describe, time_range_picker

rt = runtime()
apps = app_picker(visible_apps(rt))
tr = time_range_picker(now=rt.now())

st.title("Overview")
st.caption(describe(tr))
result = overview(rt, apps=apps, tr=tr)
freshness(result)
for ov in result.apps:
    st.subheader(ov.app.display_name)
    firing_caption(result.firing.get(ov.app.id))
    tile_row(ov)
