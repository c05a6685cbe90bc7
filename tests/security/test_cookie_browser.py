"""In a real browser against a real server: a cookie copied before sign-out signs in nobody,
and a forged one shows the login form. (Streamlit reads the cookie from the HTTP request, which
AppTest cannot send, so this is the end-to-end proof of test_sessions.py.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import Server
from tests.e2e.test_login_browser import TIMEOUT_MS, _login_form, _settle, _sign_in

pytestmark = pytest.mark.browser
COOKIE = "ca_e2e"


def test_a_cookie_copied_before_sign_out_opens_the_login_form(server: Server,
                                                              browser: Browser) -> None:
    victim = browser.new_context()
    thief = browser.new_context()
    try:
        # GIVEN bob signed in, and his cookie copied into another browser
        page = victim.new_page()
        page.goto(server.url)
        _sign_in(page, "bob", server.passwords["bob"])
        page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')",
                               timeout=TIMEOUT_MS)
        (stolen,) = [c for c in victim.cookies() if c["name"] == COOKIE]
        thief.add_cookies([{**stolen}])
        copy = thief.new_page()
        copy.goto(server.url)
        copy.get_by_role("button", name="Signed in as Bob Viewer").wait_for(timeout=TIMEOUT_MS)
        copy.close()
        # WHEN bob signs out
        page.get_by_role("button", name="Signed in as Bob Viewer").click()
        page.get_by_role("button", name="Sign out").click()
        _login_form(page)
        # THEN the copy opens the login form in a new tab
        again = thief.new_page()
        again.goto(server.url)
        _login_form(again)
        _settle(again)
        assert again.get_by_role("button", name="Signed in as Bob Viewer").count() == 0
    finally:
        victim.close()
        thief.close()


def test_a_forged_cookie_shows_the_login_form_not_an_error(server: Server,
                                                           browser: Browser) -> None:
    ctx = browser.new_context()
    try:
        host = server.url.split("//", 1)[1].split(":")[0]
        forged = ("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VybmFtZSI6ImFsaWNlIiwiZXhwX2RhdGUiO"
                  "jQxMDI0NDQ4MDB9.")  # alg=none, {"username": "alice", ...}
        ctx.add_cookies([{"name": COOKIE, "value": forged, "domain": host, "path": "/"}])
        page = ctx.new_page()
        page.goto(server.url)
        _login_form(page)
        _settle(page)
        errors = page.get_by_test_id("stException")
        assert errors.count() == 0, errors.first.inner_text()
    finally:
        ctx.close()
