"""Entrypoint: the login gate, then navigation over app_pages/. Nothing else lives here.

Every run: the gate decides who is signed in (ANONYMOUS when nobody: fail closed), the principal
is bound for the data layer, and only then is the navigation built — signed out, it holds only
the login page, so no page of data can run. See docs/auth.md.
"""

import streamlit as st

from analytics import access
from analytics.ui import auth
from analytics.ui.alarm_widgets import sidebar_alarm_badge
from analytics.ui.context import runtime

st.set_page_config(page_title="Central Analytics", page_icon="📊", layout="wide")
principal = auth.gate()
access.set_principal(principal)
if principal.signed_in:
    sidebar_alarm_badge(runtime())  # on-call sees a firing alarm from any page
pages, position = auth.navigation(principal)
st.navigation(pages, position=position).run()
