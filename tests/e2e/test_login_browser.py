"""In a real browser: every page URL is a login form until sign-in; a deep link survives it."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page

from analytics.auth.pages import PAGES
from tests.e2e.conftest import Server

pytestmark = pytest.mark.browser

DATA_SELECTORS = ('[data-testid="stMetric"]', '[data-testid="stPlotlyChart"]',
                  '[data-testid="stDataFrame"]', '[data-testid="stTable"]')
PAGE_PATHS = ["" if p.default else p.url_path for p in PAGES]
TIMEOUT_MS = 60_000  # generous: CI shares 2 cores with the server and the browser


def _login_form(page: Page) -> None:
    page.get_by_role("textbox", name="Username").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("textbox", name="Password").wait_for(timeout=TIMEOUT_MS)


def _settle(page: Page) -> None:
    """Wait until the script run is over (the status widget says "Running" while it runs)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=TIMEOUT_MS)


def _sign_in(page: Page, user: str, password: str) -> None:
    _login_form(page)
    page.get_by_role("textbox", name="Username").fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Login").click()


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_url_shows_only_the_login_form_when_signed_out(
        server: Server, browser: Browser, path: str) -> None:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/{path}")
        _login_form(page)
        _settle(page)
        for sel in DATA_SELECTORS:
            assert page.locator(sel).count() == 0, f"/{path}: {sel} shown while signed out"
        assert page.get_by_test_id("stSidebarNav").count() == 0
        assert page.get_by_role("heading", name="Sign in").count() == 1
        assert "Page not found" not in page.content()
    finally:
        ctx.close()


def test_sign_in_on_a_deep_link_lands_on_that_page_and_survives_a_reload(
        server: Server, browser: Browser) -> None:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/costs")
        _sign_in(page, "alice", server.passwords["alice"])
        page.get_by_role("heading", name="Costs").first.wait_for(timeout=TIMEOUT_MS)
        assert urlparse(page.url).path.rstrip("/").endswith("/costs")
        assert page.get_by_test_id("stSidebarNav").count() == 1
        # the re-login cookie: a reload (a new Streamlit session) stays signed in
        page.wait_for_function(
            "() => document.cookie.includes('ca_e2e=')", timeout=TIMEOUT_MS)
        page.reload()
        page.get_by_role("heading", name="Costs").first.wait_for(timeout=TIMEOUT_MS)
        assert page.get_by_role("textbox", name="Password").count() == 0
        # sign out clears the session and the cookie: a reload shows the form again
        page.get_by_role("button", name="Signed in as Alice Admin").click()
        page.get_by_role("button", name="Sign out").click()
        _login_form(page)
        page.wait_for_function(
            "() => !document.cookie.includes('ca_e2e=')", timeout=TIMEOUT_MS)
        page.reload()
        _login_form(page)
        _settle(page)
        assert page.locator('[data-testid="stMetric"]').count() == 0
    finally:
        ctx.close()


def test_a_viewer_sees_only_their_app_even_when_the_url_asks_for_another(
        server: Server, browser: Browser) -> None:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/?app=ilikeyacut")
        _sign_in(page, "bob", server.passwords["bob"])
        page.get_by_role("heading", name="Overview").first.wait_for(timeout=TIMEOUT_MS)
        page.locator('[data-testid="stMetric"]').first.wait_for(timeout=TIMEOUT_MS)
        _settle(page)
        body = page.locator("section.stMain, [data-testid='stMain']").first.inner_text()
        assert "JobSeek" in body and "iLikeYaCut" not in body
    finally:
        ctx.close()


def test_the_server_log_has_audit_lines_and_never_a_password(
        server: Server, browser: Browser) -> None:
    wrong = "not-" + server.passwords["bob"]
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/alarms")
        _sign_in(page, "bob", wrong)
        page.get_by_text("Wrong username or password.").wait_for(timeout=TIMEOUT_MS)
        _sign_in(page, "bob", server.passwords["bob"])
        page.get_by_role("button", name="Signed in as Bob Viewer").click()
        page.get_by_role("button", name="Sign out").click()
        _login_form(page)
        _settle(page)
    finally:
        ctx.close()
    text = server.log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith('{"ts"')]
    bob = [(r["event"], r["outcome"], r["method"]) for r in records if r["user"] == "bob"]
    assert ("sign_in", "failure", "password") in bob
    assert bob.index(("sign_in", "success", "password")) < bob.index(
        ("sign_out", "success", "password"))
    assert all(set(r) >= {"ts", "event", "outcome", "user"} for r in records)
    for pw in [wrong, *server.passwords.values()]:
        assert pw not in text
