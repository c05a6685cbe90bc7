"""Central Analytics data layer.

Everything a page needs comes from here; nothing in this package imports streamlit
(the streamlit-aware helpers live in :mod:`analytics.ui`).
"""
