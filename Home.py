"""Entrypoint: the login gate, then navigation over app_pages/ inside the page frame.

Every run: the gate decides who is signed in (ANONYMOUS when nobody: fail closed), the principal
is bound for the data layer, and only then is the navigation built — signed out, it holds only
the login page, so no page of data can run. See docs/auth.md.
"""

import streamlit as st

from analytics.core import access
from analytics.ui import auth
from analytics.ui.alarm_widgets import sidebar_alarm_badge
from analytics.ui.context import runtime
from analytics.ui.frame import page_frame
from analytics.ui.zone import zone_picker

st.set_page_config(page_title="Central Analytics", page_icon=":material/monitoring:",
                   layout="wide")
with auth.deadline():  # the sign-out deny-list is read under the page's deadline too
    principal = auth.gate()
access.set_principal(principal)
pages, position = auth.navigation(principal)
page = st.navigation(pages, position=position)
if principal.signed_in:
    rt = runtime()
    zone_picker()  # every time on the page is in the viewer's zone (or UTC, ?utc=1)
    with page_frame(rt, deadline_s=rt.settings.page_deadline_s):
        sidebar_alarm_badge(rt)  # on-call sees a firing alarm from any page
        page.run()
else:
    page.run()
