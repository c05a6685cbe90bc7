"""Command-line tools: ``python -m analytics.cli.users``, ``python -m analytics.cli.report``."""
