"""Sessions are revocable: a cookie copied before sign-out, a password change or a removal
signs in nobody, and an open session ends at its next run when its user changed.

Before, the cookie was a JWT of ``{username, exp_date}``: any copy worked until it expired,
whatever happened to the account, and a signed-in session was never checked again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from streamlit.testing.v1 import AppTest

from analytics.auth import cookie
from analytics.auth.credentials import User
from analytics.auth.revocation import FileRevokedSessions
from analytics.ui import sessions as ui_sessions
from tests.auth.conftest import ALICE_PW, BOB_PW, USERS, home, submit
from tests.helpers import TEST_COOKIE_KEY, quick_hash, users_table

COOKIE = "ca_test"  # tests.helpers.app_secrets' cookie name


def _is_login_form(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Username", "Password"]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the next AppTest run's request carries (cookies, headers); AppTest cannot set them."""
    req: dict[str, Any] = {"cookies": {}, "headers": {}, "peer": None}
    monkeypatch.setattr(ui_sessions, "request",
                        lambda: (dict(req["cookies"]), dict(req["headers"]), req["peer"]))
    return req


def _signed_in_cookie(user: str, password: str) -> tuple[AppTest, str]:
    """Sign ``user`` in with the form; return the session and the cookie it wrote."""
    at = submit(home().run(), user, password)
    assert at.session_state["_auth_principal"].username == user
    return at, at.session_state["_auth_cookie_value"]


def _open_with(sent: dict[str, Any], value: str,
               edit: Callable[[AppTest], None] | None = None) -> AppTest:
    """A new tab (a new session) whose browser sends ``value`` as the re-login cookie."""
    sent["cookies"] = {COOKIE: value}
    at = home()
    if edit:
        edit(at)
    return at.run()


def test_the_cookie_signs_in_a_new_tab(installed_runtime, sent) -> None:
    # GIVEN bob signed in, and his cookie
    _, value = _signed_in_cookie("bob", BOB_PW)
    # WHEN a new tab sends it
    tab = _open_with(sent, value)
    # THEN the tab is bob's, without a password
    assert not tab.exception and not _is_login_form(tab)
    assert tab.session_state["_auth_principal"].username == "bob"
    assert tab.session_state["_auth_method"] == "cookie"


def test_a_cookie_copied_before_sign_out_signs_in_nobody(installed_runtime, sent) -> None:
    # GIVEN bob's cookie copied while he was signed in, and a second tab already open with it
    at, value = _signed_in_cookie("bob", BOB_PW)
    other_tab = _open_with(sent, value)
    assert other_tab.session_state["_auth_principal"].username == "bob"
    # WHEN bob signs out
    at.button(key="auth_sign_out").click().run()
    # THEN the copy opens the login form, and the open tab is signed out at its next run
    copy = _open_with(sent, value)
    assert _is_login_form(copy) and copy.session_state["_auth_principal"].username == ""
    assert copy.session_state["_auth_delete_cookie"] > 0  # and the browser is told to drop it
    other_tab.run()
    assert _is_login_form(other_tab)
    assert "this session was signed out" in other_tab.error[0].value


def _passwd(at: AppTest) -> None:
    at.secrets["credentials"] = users_table({**USERS, "bob": ("a-new-password-77", "viewer",
                                                              ["jobseek"])})


def _remove(at: AppTest) -> None:
    at.secrets["credentials"] = users_table({"alice": USERS["alice"]})


def _promote(at: AppTest) -> None:
    at.secrets["credentials"] = users_table({**USERS, "bob": (BOB_PW, "viewer", ["jobseek",
                                                                                "ilikeyacut"])})


@pytest.mark.parametrize(("change", "reason"), [
    (_passwd, "your password, role or apps changed"),
    (_remove, "your account was removed"),
    (_promote, "your password, role or apps changed"),
])
def test_passwd_remove_and_app_changes_end_cookies_and_open_sessions(
        installed_runtime, sent, change, reason: str) -> None:
    # GIVEN bob signed in, his cookie copied
    at, value = _signed_in_cookie("bob", BOB_PW)
    # WHEN the users file changes under him (users passwd / remove / new apps)
    change(at)
    at.run()
    copy = _open_with(sent, value, edit=change)
    # THEN his open session ends at its next run with the reason, and the copy signs in nobody
    assert _is_login_form(at) and reason in at.error[0].value
    assert at.session_state["_auth_principal"].username == ""
    assert _is_login_form(copy) and copy.session_state["authentication_status"] is not True


def _token(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    signing = f"{part(header)}.{part(claims)}"
    digest = hashlib.sha512 if header.get("alg") == "HS512" else hashlib.sha256
    sig = b"" if header.get("alg") == "none" else hmac.new(key, signing.encode(), digest).digest()
    return f"{signing}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


def _claims(**extra: Any) -> dict[str, Any]:
    user = User("alice", quick_hash(ALICE_PW), role="admin", apps=None)
    return {"sub": "alice", "sid": "x" * 22, "ver": cookie.credential_version(user),
            "iat": 1, "exp": 4_102_444_800, **extra}  # 2100-01-01


@pytest.mark.parametrize("value", [
    _token({"alg": "none", "typ": "JWT"}, _claims(), b""),
    _token({"alg": "HS512", "typ": "JWT"}, _claims(), TEST_COOKIE_KEY.encode()),
    _token({"alg": "HS256", "typ": "JWT"}, _claims(), b"not-the-key-" * 4),
    jwt.encode({"username": "alice", "exp_date": 4_102_444_800}, TEST_COOKIE_KEY,
               algorithm="HS256"),  # the old cookie layout: no session id, no version
    _token({"alg": "HS256", "typ": "JWT"}, _claims(exp=2), TEST_COOKIE_KEY.encode()),
    "garbage", "a.b.c", "",
])
def test_a_forged_malformed_or_wrong_alg_cookie_is_signed_out_and_deleted(
        installed_runtime, sent, value: str) -> None:
    # WHEN a visitor sends a cookie that is not a valid session of ours
    at = _open_with(sent, value)
    # THEN no error page: the login form, and (for any non-empty cookie) a delete
    assert not at.exception
    assert _is_login_form(at) and at.session_state["_auth_principal"].username == ""
    assert at.session_state.get("_auth_delete_cookie", 0) > 0 or value == ""


def test_a_correctly_signed_cookie_of_ours_does_sign_in(installed_runtime, sent) -> None:
    # the control for the case above: the same forging code with the right key and algorithm
    value = _token({"alg": "HS256", "typ": "JWT"}, _claims(), TEST_COOKIE_KEY.encode())
    at = _open_with(sent, value)
    assert at.session_state["_auth_principal"].username == "alice"


def test_the_cookie_is_secure_when_the_page_came_over_https(
        installed_runtime, sent, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the ALB saying the browser used HTTPS
    sent["headers"] = {"x-forwarded-proto": "https"}
    written: list[dict[str, Any]] = []
    monkeypatch.setattr(ui_sessions.stx.CookieManager, "set",
                        lambda self, name, value, **kw: written.append({"name": name, **kw}))
    # WHEN alice signs in
    submit(home().run(), "alice", ALICE_PW)
    # THEN the cookie is written Secure, SameSite=Strict, expiring with the session
    assert written and written[0]["name"] == COOKIE
    assert written[0]["secure"] is True and written[0]["same_site"] == "strict"


def test_sign_outs_survive_a_restart(tmp_path: Path) -> None:
    # GIVEN a session revoked by one process
    FileRevokedSessions(tmp_path / "revoked.json", clock=lambda: 1_000.0).revoke(
        "sid-1", until=2_000.0)
    # WHEN another process (a restart) reads the same data dir
    again = FileRevokedSessions(tmp_path / "revoked.json", clock=lambda: 1_500.0)
    # THEN it is still revoked until its cookie would have expired, and the file is private
    assert again.is_revoked("sid-1") and not again.is_revoked("sid-2")
    assert not FileRevokedSessions(tmp_path / "revoked.json",
                                   clock=lambda: 2_000.0).is_revoked("sid-1")
    assert (tmp_path / "revoked.json").stat().st_mode & 0o777 == 0o600
    assert "sid-1" not in (tmp_path / "revoked.json").read_text()  # only digests are kept
