"""Performance: every service of one app — what is slow, since when, and where.

Thin: widgets and URL state here; the data from :mod:`analytics.performance.service` (one
metrics fetch for the whole page, cold starts only when the Lambda section is open); drawing
from :mod:`analytics.ui.charts`.
"""

import streamlit as st

from analytics.core.cache import UpstreamError
from analytics.core.fmt import span_text
from analytics.performance import service as performance
from analytics.performance.page import SECTIONS
from analytics.performance.views import has_previous
from analytics.ui import charts
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.timerange import describe, time_range_picker
from analytics.ui.zone import current_zone

rt = runtime()
app = app_picker(visible_apps(rt), allow_all=False)[0]
tz = current_zone()
tr = time_range_picker(now=rt.now(), tz=tz)
compare = charts.url_toggle("Compare with previous period", "compare",
                            help="Overlay the previous window of the same length, dashed.")

st.title(f"Performance · {app.display_name}")
st.caption(describe(tr, tz))
page = performance.performance(rt, app, tr=tr, compare=compare, tz=tz)
freshness(page)
if page.discovery is not None:
    charts.show_discovery(page.app, page.discovery, tz)
st.caption(f"{page.n_queries} metric queries, fetched together"
           + (" · dashed lines: the previous window, shifted onto this one" if compare else ""))
if compare and not any(has_previous(r.chart) for s in page.sections for r in s.resources):
    prev = tr.previous()
    st.caption(f":material/info: The previous window ({span_text(prev.start, prev.end, tz)}) "
               "holds no data, so there is nothing to overlay.")

wanted = charts.open_from_url(list(SECTIONS))
opened: list[str] = []
for sec in page.sections:
    if sec.empty_message:
        st.info(f"**{sec.title}** — {sec.empty_message}", icon=":material/info:")
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
        charts.show_section_body(sec, tz=tz, token=page.token)
charts.remember_open(opened)
