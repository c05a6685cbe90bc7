"""The only streamlit-aware helpers: pickers, tiles, footer. Pages compose these."""
