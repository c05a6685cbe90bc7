"""Fixtures for the access-control tests: users, a controllable clock, a clean lockout table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.auth import lockout
from tests.helpers import HOME, app_secrets

ROOT = Path(__file__).resolve().parents[2]
ALICE_PW = "alice-correct-horse-1"
BOB_PW = "bob-battery-staple-2"
#: alice: admin of every app; bob: viewer of jobseek only.
USERS = {"alice": (ALICE_PW, "admin", None), "bob": (BOB_PW, "viewer", ["jobseek"])}
SUBMIT = "FormSubmitter:Login-Login"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The process-wide lockout table, emptied and driven by a fake clock for each test."""
    fake = FakeClock()
    lockout.THROTTLE.reset()
    monkeypatch.setattr(lockout.THROTTLE, "clock", fake)
    yield fake
    lockout.THROTTLE.reset()


@pytest.fixture(autouse=True)
def _no_auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's AUTH_* variables must not leak into these tests."""
    import os

    for k in list(os.environ):
        if k.startswith("AUTH_"):
            monkeypatch.delenv(k)


def home(page: str | None = None, users: dict | None = None, **secrets: object) -> AppTest:
    """A signed-out AppTest of Home.py with our users (optionally deep-linked to ``page``)."""
    at = AppTest.from_file(HOME, default_timeout=60)
    at.secrets.update(app_secrets(USERS if users is None else users, **secrets))
    if page:
        at.switch_page(page)
    return at


def submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key=SUBMIT).click().run()


def data_elements(at: AppTest) -> dict[str, int]:
    """How many metric / dataframe / table / plotly chart elements the run drew."""
    return {"metric": len(at.metric), "dataframe": len(at.dataframe), "table": len(at.table),
            "plotly_chart": len(at.get("plotly_chart"))}
