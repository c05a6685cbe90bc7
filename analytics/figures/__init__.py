"""Plotly figures only (no streamlit): drawn by the pages and by the cost-review pack alike."""
