"""Performance page — being built; replaced by the real page before its issue closes."""

import streamlit as st

st.title("Performance")
st.info("This page is not built yet.")
