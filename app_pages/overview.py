"""Overview: one row of tiles per application, with its firing alarms.

The long ranges (90 days, 1 and 2 years) are whole days stitched from the pipeline's rollups and
CloudWatch's recent days; each app says which days came from where.
"""

import streamlit as st

from analytics.core.periods import is_history, utcnow
from analytics.overview.service import overview
from analytics.pipeline.history import overview_history
from analytics.ui.alarm_widgets import firing_caption
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.tiles import tile_row
from analytics.ui.timerange import describe, time_range_picker

rt = runtime()
apps = app_picker(visible_apps(rt))
tr = time_range_picker(history=True)

st.title("Overview")
st.caption(describe(tr))
sources = None
if is_history(tr):
    history = overview_history(rt, apps=apps, tr=tr, today=utcnow().date())
    result, sources = history.result, history.sources
else:
    result = overview(rt, apps=apps, tr=tr)
freshness(result)
for ov in result.apps:
    st.subheader(ov.app.display_name)
    firing_caption(result.firing.get(ov.app.id))
    tile_row(ov)
    if sources is not None:
        st.caption("Days from " + " · ".join(s.describe() for s in sources.get(ov.app.id, [])))
