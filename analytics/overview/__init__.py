"""The Overview page's data: one row of tiles per application."""
