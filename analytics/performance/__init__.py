"""The Performance page: every service of one app, cold starts and tag discovery."""
