"""Sign in: the only page a signed-out visitor can reach (Home.py's navigation holds no other)."""

from analytics.ui.auth import login_page

login_page()
