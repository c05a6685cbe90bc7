"""Overview: one row of tiles per application, with its firing alarms.

The long ranges (90 days, 1 and 2 years) are whole days stitched from the pipeline's rollups and
CloudWatch's recent days; each app says which days came from where.
"""

import streamlit as st

from analytics.alarms.service import history_pending
from analytics.core.fmt import span_text
from analytics.core.periods import is_history
from analytics.overview.service import overview
from analytics.pipeline.history import overview_history
from analytics.ui.alarm_widgets import firing_caption
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.tiles import tile_row
from analytics.ui.timerange import describe, span, time_range_picker
from analytics.ui.zone import current_zone

rt = runtime()
apps = app_picker(visible_apps(rt))
tz = current_zone()
tr = time_range_picker(now=rt.now(), tz=tz, history=True)

st.title("Overview")
st.caption(describe(tr, tz))
sources = None
if is_history(tr):
    history = overview_history(rt, apps=apps, tr=tr, today=rt.now().date())
    result, sources = history.result, history.sources
else:
    result = overview(rt, apps=apps, tr=tr)
freshness(result)
if any(t.value is not None and t.previous is None for ov in result.apps for t in ov.tiles):
    prev = tr.previous()
    kept = (f": the local store keeps {rt.settings.history_days} days of history"
            if rt.sources.backend == "local" else "")
    st.caption(f":material/info: No change is shown where the previous {span(tr.seconds)} "
               f"({span_text(prev.start, prev.end, tz)}) hold no data{kept}.")
pending = history_pending(rt)
for ov in result.apps:
    st.subheader(ov.app.display_name)
    firing_caption(result.firing.get(ov.app.id), pending=pending)
    tile_row(ov)
    if sources is not None:
        st.caption("Days from " + " · ".join(s.describe() for s in sources.get(ov.app.id, [])))
