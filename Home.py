"""Entrypoint: the login gate, then navigation over app_pages/. Nothing else lives here."""

import streamlit as st

st.set_page_config(page_title="Central Analytics", page_icon="📊", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon="🏠", default=True),
    st.Page("app_pages/performance.py", title="Performance", icon="⏱️"),
    st.Page("app_pages/realtime.py", title="Realtime", icon="📡"),
    st.Page("app_pages/alarms.py", title="Alarms", icon="🚨"),
    st.Page("app_pages/costs.py", title="Costs", icon="💰"),
]
st.navigation(pages).run()
