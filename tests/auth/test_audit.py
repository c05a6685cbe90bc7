"""Audit lines: one JSON object per line, the fields operators filter on, never a password."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from analytics.auth.audit import LOGGER_NAME, audit
from analytics.auth.credentials import Credentials, User
from analytics.auth.lockout import LoginThrottle
from analytics.auth.session import sign_in
from tests.auth.conftest import FakeClock
from tests.helpers import quick_hash


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]


def test_record_shape(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    audit("sign_out", user="bob", outcome="success", method="cookie",
          now=datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    assert _lines(caplog) == [{"ts": "2026-11-26T09:30:00.000Z", "audit": "auth",
                               "event": "sign_out", "outcome": "success", "user": "bob",
                               "method": "cookie"}]


def test_a_crafted_username_cannot_forge_a_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    audit("sign_in", user='x"}\n{"event": "sign_in", "outcome": "success"' + "y" * 500,
          outcome="failure")
    (msg,) = [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]
    assert "\n" not in msg
    rec = json.loads(msg)
    assert rec["outcome"] == "failure" and len(rec["user"]) == 128


def test_unknown_event_is_a_bug() -> None:
    with pytest.raises(ValueError, match="bad audit record"):
        audit("password_changed", user="x", outcome="success")


def test_a_whole_lockout_sequence_logs_no_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    creds = Credentials({"bob": User("bob", quick_hash("the-real-one"), role="viewer")})
    throttle = LoginThrottle(clock=FakeClock())
    tried = [f"guess-number-{i}" for i in range(6)] + ["the-real-one"]
    results = [sign_in(creds, "bob", pw, throttle=throttle) for pw in tried]
    assert [r.ok for r in results] == [False] * 7  # the last is refused: still locked
    lines = _lines(caplog)
    assert [(r["event"], r["outcome"]) for r in lines] == (
        [("sign_in", "failure")] * 5 + [("lockout", "locked")] + [("sign_in", "locked")] * 2)
    raw = "\n".join(r.getMessage() for r in caplog.records)
    assert all(pw not in raw for pw in tried)
