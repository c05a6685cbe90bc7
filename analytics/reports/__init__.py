"""Report packs built from the services and drawn with the page figures: the cost review."""
