"""Costs page — being built (see the open issue); replaced by the real page before it closes."""

import streamlit as st

st.title("Costs")
st.info("This page is not built yet.")
