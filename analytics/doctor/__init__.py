"""The doctor: does this deployment have what the dashboard needs? See checks.py."""
