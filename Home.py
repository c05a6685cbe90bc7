"""Entrypoint: the login gate, then navigation over app_pages/. Nothing else lives here."""

import streamlit as st

st.set_page_config(page_title="Central Analytics", page_icon="📊", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon="🏠", default=True),
]
st.navigation(pages).run()
