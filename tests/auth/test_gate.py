"""AppTest of the login gate in Home.py: nothing without signing in, lockout, deep links, SSO."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.auth.audit import LOGGER_NAME
from analytics.auth.lockout import LOCK_SECONDS
from analytics.core.access import ANONYMOUS
from tests.auth.conftest import (
    ALICE_PW,
    BOB_PW,
    FakeClock,
    data_elements,
    home,
    submit,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))
NO_DATA = {"metric": 0, "dataframe": 0, "table": 0, "plotly_chart": 0}


def _is_login_form(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Username", "Password"]


def test_signed_out_run_shows_only_the_login_form(installed_runtime) -> None:
    at = home().run()
    assert not at.exception
    assert _is_login_form(at)
    assert data_elements(at) == NO_DATA
    assert [t.value for t in at.title] == ["Central Analytics"]
    assert at.session_state["_auth_principal"] == ANONYMOUS
    assert installed_runtime.cache.snapshot()["upstream_calls"] == {}


def test_a_signed_out_run_without_a_cookie_prints_nothing(installed_runtime, capfd) -> None:
    # GIVEN a test client, whose cookie jar is a stand-in object, not a cookie
    at = home()
    # WHEN a signed-out visitor opens the page and signs in
    at.run()
    submit(at, "alice", ALICE_PW)
    # THEN nothing reaches the JWT decoder: no "Invalid token type" line on stdout
    out, err = capfd.readouterr()
    assert "Invalid token type" not in out + err
    assert at.session_state["authentication_status"] is True


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_file_is_the_login_form_while_signed_out(installed_runtime, page: str) -> None:
    before = installed_runtime.cache.snapshot()
    at = home(page)
    at.query_params["app"] = "ilikeyacut"
    at.run()
    at.run()  # a rerun of the same session: still nothing
    after = installed_runtime.cache.snapshot()
    assert not at.exception
    assert _is_login_form(at), page
    assert data_elements(at) == NO_DATA, page
    assert after["upstream_calls"] == before["upstream_calls"] == {}
    assert after["aws_calls"] == before["aws_calls"] == {}
    assert after["misses"] == before["misses"] and after["hits"] == before["hits"]


def test_wrong_password_gives_an_error_and_no_session(installed_runtime, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    at = submit(home().run(), "alice", "not-her-password")
    assert not at.exception
    assert [e.value for e in at.error] == ["Wrong username or password."]
    assert at.session_state["authentication_status"] is False
    assert at.session_state["_auth_principal"] == ANONYMOUS
    assert at.session_state["login_password"] == ""
    assert _is_login_form(at) and data_elements(at) == NO_DATA
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]
    assert json.loads(lines[-1])["outcome"] == "failure"
    assert all("not-her-password" not in line for line in lines)


def test_unknown_user_gets_the_same_message(installed_runtime) -> None:
    at = submit(home().run(), "mallory", "whatever-password")
    assert [e.value for e in at.error] == ["Wrong username or password."]
    assert at.session_state["_auth_principal"] == ANONYMOUS


def test_sixth_attempt_is_locked_then_unlocks_after_15_minutes(
        installed_runtime, clock: FakeClock, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    at = home().run()
    for i in range(5):
        clock.advance(10)
        submit(at, "Alice", f"wrong-{i}")  # case differs: the same name
        assert at.session_state["authentication_status"] is False
    assert "locked for 15 min 00 s" in at.error[0].value
    clock.advance(60)
    submit(at, "alice", ALICE_PW)  # the 6th attempt, even with the right password
    assert at.session_state["_auth_principal"] == ANONYMOUS
    assert at.error[0].value == ("Too many failed sign-ins for this username. "
                                 "Try again in 14 min 00 s.")
    # a new session (a reload) sees the same lock: the counter lives in the process
    again = submit(home().run(), "alice", ALICE_PW)
    assert "Try again in 14 min 00 s" in again.error[0].value
    clock.advance(LOCK_SECONDS - 60)
    submit(at, "alice", ALICE_PW)
    assert not at.exception
    assert at.session_state["_auth_principal"].username == "alice"
    assert [t.value for t in at.title] == ["Overview"]
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]
    assert [e["outcome"] for e in events if e["event"] == "sign_in"] == \
        ["failure"] * 5 + ["locked", "locked", "success"]
    assert [e["event"] for e in events].count("lockout") == 1
    assert all(ALICE_PW not in json.dumps(e) and "wrong-" not in json.dumps(e) for e in events)


def test_sign_in_on_a_deep_link_lands_on_that_page(installed_runtime) -> None:
    at = home("app_pages/performance.py").run()
    assert _is_login_form(at)
    submit(at, "alice", ALICE_PW)
    assert not at.exception
    assert at.session_state["_auth_principal"].role == "admin"
    assert not _is_login_form(at)
    assert at.title[0].value.startswith("Performance")


def test_sign_out_clears_the_session(installed_runtime, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    at = submit(home().run(), "bob", BOB_PW)
    assert at.session_state["allowed_apps"] == ["jobseek"]
    assert at.session_state["_auth_principal"].apps == frozenset({"jobseek"})
    at.button(key="auth_sign_out").click().run()
    assert not at.exception
    assert _is_login_form(at) and data_elements(at) == NO_DATA
    assert at.session_state["_auth_principal"] == ANONYMOUS
    assert at.session_state["authentication_status"] is None
    assert "allowed_apps" not in at.session_state
    assert at.session_state["logout"] is True  # the old cookie is never reused in this session
    out = [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]
    assert out[-1]["event"] == "sign_out" and out[-1]["user"] == "bob"


def test_cookie_write_is_retried_until_confirmed_but_not_forever(installed_runtime) -> None:
    at = submit(home().run(), "alice", ALICE_PW)
    assert at.session_state["_auth_set_cookie"] == 4  # written once, 4 retries left
    for _ in range(4):
        at.run()  # AppTest's components never confirm
    assert "_auth_set_cookie" not in at.session_state
    assert at.session_state["_auth_principal"].username == "alice"  # still signed in
    at.button(key="auth_sign_out").click().run()
    assert at.session_state["_auth_delete_cookie"] == 4
