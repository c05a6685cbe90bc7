"""Test helpers shared by every AppTest: run Home.py as a signed-in user on a given page.

Page tests go through Home.py (the only entrypoint) with a session seeded as signed in, the
same state streamlit-authenticator leaves after a successful login.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")


def signed_in_app(page: str | None = None, *, username: str = "test-admin",
                  role: str = "admin", apps: list[str] | None = None,
                  query: dict[str, str] | None = None, timeout: float = 90) -> AppTest:
    """An AppTest of Home.py, signed in as ``username`` with ``role`` and ``apps`` (None = all),
    switched to ``page`` (e.g. ``"app_pages/costs.py"``) with ``query`` parameters; not yet run.
    """
    at = AppTest.from_file(HOME, default_timeout=timeout)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username.title()
    at.session_state["roles"] = [role]
    at.session_state["allowed_apps"] = apps
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    return at
