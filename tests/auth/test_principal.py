"""The session -> principal rule fails closed, and the fallback covers fragment reruns."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from analytics.auth.session import principal_from_session
from analytics.core import access
from analytics.core.access import ANONYMOUS, AccessDenied, Principal


@pytest.fixture(autouse=True)
def _keep_resolver() -> Iterator[None]:
    """Tests here swap the resolver; give back whatever analytics.ui.auth installed."""
    saved = access._fallback
    yield
    access.set_fallback_resolver(saved)


@pytest.mark.parametrize(("state", "expected"), [
    ({}, ANONYMOUS),
    ({"authentication_status": False, "username": "bob", "roles": ["admin"]}, ANONYMOUS),
    ({"authentication_status": "true", "username": "bob"}, ANONYMOUS),
    ({"authentication_status": True, "username": ""}, ANONYMOUS),
    ({"authentication_status": True, "username": "bob", "roles": ["admin"],
      "allowed_apps": None}, Principal("bob", "admin", None)),
    ({"authentication_status": True, "username": "bob", "roles": ["superuser"],
      "allowed_apps": ["jobseek"]}, Principal("bob", "viewer", frozenset({"jobseek"}))),
    ({"authentication_status": True, "username": "bob", "roles": None,
      "allowed_apps": ["*"]}, Principal("bob", "viewer", None)),
    # apps never set: nothing (a session must say what it may see)
    ({"authentication_status": True, "username": "bob", "roles": ["admin"]},
     Principal("bob", "admin", frozenset())),
    ({"authentication_status": True, "username": "bob", "roles": ["viewer"],
      "allowed_apps": 42}, Principal("bob", "viewer", frozenset())),
])
def test_principal_from_session(state: dict, expected: Principal) -> None:
    assert principal_from_session(state) == expected


def test_fallback_resolver_answers_where_no_principal_was_bound() -> None:
    """A fragment rerun runs on a fresh thread: no contextvar, so the resolver decides."""
    seen: dict[str, object] = {}

    def fresh_thread() -> None:
        seen["allowed"] = access.allowed("jobseek")
        seen["ids"] = access.filter_ids(["jobseek", "ilikeyacut"])
        try:
            access.require("jobseek")
        except AccessDenied:
            seen["denied"] = True

    access.set_fallback_resolver(lambda: ANONYMOUS)
    t = threading.Thread(target=fresh_thread)
    t.start()
    t.join()
    access.set_fallback_resolver(None)
    assert seen == {"allowed": False, "ids": [], "denied": True}
    assert access.allowed("jobseek")  # no resolver, no principal: a trusted process


def test_bound_principal_wins_over_the_fallback() -> None:
    access.set_fallback_resolver(lambda: ANONYMOUS)
    access.set_principal(Principal("bob", "viewer", frozenset({"jobseek"})))
    try:
        assert access.filter_ids(["jobseek", "ilikeyacut"]) == ["jobseek"]
        assert not access.has_role("admin") and access.has_role("viewer")
        with pytest.raises(AccessDenied, match="'admin' role"):
            access.require_role("admin")
    finally:
        access.set_principal(None)


def test_ui_resolver_is_anonymous_inside_a_run_without_a_principal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.ui import auth as ui_auth

    assert ui_auth._session_principal() is None  # outside Streamlit: trusted process
    monkeypatch.setattr(ui_auth, "get_script_run_ctx", lambda suppress_warning=False: object())
    monkeypatch.setattr(ui_auth.st, "session_state", {})
    assert ui_auth._session_principal() == ANONYMOUS
    monkeypatch.setattr(ui_auth.st, "session_state",
                        {"_auth_principal": Principal("bob", "viewer", frozenset({"jobseek"}))})
    assert ui_auth._session_principal().username == "bob"
