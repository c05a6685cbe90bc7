"""Entrypoint: the login gate, then navigation over app_pages/. Nothing else lives here."""

import streamlit as st

from analytics import access

st.set_page_config(page_title="Central Analytics", page_icon="📊", layout="wide")
_apps = st.session_state.get("allowed_apps")
access.set_principal(access.Principal(st.session_state.get("username", "local"), "admin",
                                      None if _apps is None else frozenset(_apps)))

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon="🏠", default=True),
    st.Page("app_pages/performance.py", title="Performance", icon="⏱️"),
    st.Page("app_pages/realtime.py", title="Realtime", icon="📡"),
    st.Page("app_pages/alarms.py", title="Alarms", icon="🚨"),
    st.Page("app_pages/costs.py", title="Costs", icon="💰"),
]
st.navigation(pages).run()
