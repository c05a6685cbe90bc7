"""Performance: every service of one app — what is slow, since when, and where.

Thin: widgets and URL state here; the data from :mod:`analytics.performance.service` (one
metrics fetch for the whole page, cold starts only when the Lambda section is open); drawing
from :mod:`analytics.ui.charts`.
"""

import streamlit as st

from analytics.core.cache import UpstreamError
from analytics.performance import service as performance
from analytics.performance.page import SECTIONS
from analytics.ui import charts
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.timerange import describe, time_range_picker

rt = runtime()
app = app_picker(visible_apps(rt), allow_all=False)[0]
tr = time_range_picker(now=rt.now())
compare = charts.url_toggle("Compare with previous period", "compare",
                            help="Overlay the previous window of the same length, dashed.")

st.title(f"Performance · {app.display_name}")
st.caption(describe(tr))
page = performance.performance(rt, app, tr=tr, compare=compare)
freshness(page)
if page.discovery is not None:
    charts.show_discovery(page.app, page.discovery)
st.caption(f"{page.n_queries} metric queries, fetched together"
           + (" · dashed lines: the previous window, shifted onto this one" if compare else ""))

wanted = charts.open_from_url(list(SECTIONS))
opened: list[str] = []
for sec in page.sections:
    if sec.empty_message:
        st.info(f"**{sec.title}** — {sec.empty_message}", icon="ℹ️")
        continue
    box = charts.section(sec.key, sec.label, sec.key in wanted)
    if not box.open:
        continue
    opened.append(sec.key)
    with box:
        if sec.key == "lambda":
            try:
                cs = performance.cold_starts(rt, page.app, tr=tr)
            except UpstreamError as exc:
                st.warning(f"Cold starts are unavailable right now: {exc}")
            else:
                freshness(cs)
                charts.show_cold_starts(cs.table, f"{app.id}-coldstarts", cs.source)
        charts.show_section_body(sec)
charts.remember_open(opened)
