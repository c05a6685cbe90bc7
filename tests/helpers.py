"""Test helpers shared by every AppTest: run Home.py as a signed-in user on a given page.

Page tests go through Home.py (the only entrypoint) with a session seeded as signed in, the
same state the login gate leaves after a successful sign-in (streamlit-authenticator's keys plus
``allowed_apps``). Session state lives on the server, so the gate trusts it.

The helper also hands the run its own secrets (a strong cookie key and a users table holding the
seeded user), so page tests never depend on a developer's secrets.toml, never create the local
first-run admin, and work on the aws backend, which refuses to start without a strong key.
"""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import Any

import bcrypt
from streamlit.testing.v1 import AppTest

from analytics.auth.cookie import credential_version, new_session_id
from analytics.auth.credentials import User

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")
#: A per-process random key: valid for the aws backend's check, never a fixed value.
TEST_COOKIE_KEY = secrets.token_urlsafe(48)


@functools.cache
def quick_hash(password: str) -> str:
    """bcrypt at the minimum cost (4 rounds): real hashes, fast enough for tests."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


def users_table(users: dict[str, tuple[str, str, list[str] | None]]) -> dict[str, Any]:
    """``{name: (password, role, apps)}`` -> the ``[credentials]`` table (apps None = all)."""
    return {"usernames": {
        name: {"name": name.title(), "password": quick_hash(pw), "roles": [role],
               "apps": ["*"] if apps is None else list(apps)}
        for name, (pw, role, apps) in users.items()}}


def app_secrets(users: dict[str, tuple[str, str, list[str] | None]] | None = None,
                 **extra: Any) -> dict[str, Any]:
    """Secrets for an AppTest: cookie settings and users (+ any extra tables such as auth)."""
    out: dict[str, Any] = {
        "auth_cookie": {"name": "ca_test", "key": TEST_COOKIE_KEY, "expiry_days": 1},
        "credentials": users_table(users or {}),
    }
    out.update(extra)
    return out


def signed_in_app(page: str | None = None, *, username: str = "test-admin",
                  role: str = "admin", apps: list[str] | None = None,
                  query: dict[str, str] | None = None, timeout: float = 90) -> AppTest:
    """An AppTest of Home.py, signed in as ``username`` with ``role`` and ``apps`` (None = all),
    switched to ``page`` (e.g. ``"app_pages/costs.py"``) with ``query`` parameters; not yet run.
    """
    at = AppTest.from_file(HOME, default_timeout=timeout)
    # The gate re-checks every signed-in session against the users file: the user is in it,
    # and the session carries the id and credential version a password sign-in would give.
    at.secrets.update(app_secrets({username: (secrets.token_urlsafe(16), role, apps)}))
    entry = at.secrets["credentials"]["usernames"][username]
    user = User(username, entry["password"], role=role, apps=None if apps is None else tuple(apps))
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username.title()
    at.session_state["roles"] = [role]
    at.session_state["allowed_apps"] = apps
    at.session_state["_auth_method"] = "password"
    at.session_state["_auth_sid"] = new_session_id()
    at.session_state["_auth_ver"] = credential_version(user)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    return at
