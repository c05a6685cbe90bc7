"""Overview: one row of tiles per application."""

import streamlit as st

from analytics import metrics
from analytics.alarms import firing_counts
from analytics.cache import UpstreamError
from analytics.ui.alarm_widgets import firing_caption
from analytics.ui.context import (
    app_picker,
    footer,
    freshness,
    runtime,
    show_upstream_error,
    visible_apps,
)
from analytics.ui.tiles import tile_row
from analytics.ui.timerange import describe, time_range_picker

rt = runtime()
apps = app_picker(visible_apps(rt))
tr = time_range_picker()

st.title("Overview")
st.caption(describe(tr))
try:
    result = metrics.overview(rt, apps, tr)
except UpstreamError as exc:
    show_upstream_error(exc)
else:
    freshness(result.fetched_at, result.stale, result.error)
    firing = firing_counts(rt, [ov.app for ov in result.apps])
    for ov in result.apps:
        st.subheader(ov.app.display_name)
        firing_caption(firing.get(ov.app.id))
        tile_row(ov)
footer(rt)
