"""A broken users file tells an anonymous visitor nothing: no path, no line, no hash.

Before, the YAML error (with the offending line: a bcrypt salt and part of a hash, or a password
typed into the wrong field) and the server path were shown on the login page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.sources import Runtime, set_runtime
from analytics.ui.auth import NOT_CONFIGURED
from tests.conftest import local_env
from tests.helpers import HOME, TEST_COOKIE_KEY

HASH = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
BROKEN = {
    "yaml": f"usernames:\n  alice:\n    password: {HASH}\n   roles: [admin\n",
    "password in the wrong field": "usernames:\n  alice: CorrectHorseBattery9\n",
}


@pytest.fixture
def runtime_with_users_file(tmp_path: Path, local_runtime: Runtime) -> Iterator[Runtime]:
    settings = load_settings(local_env(tmp_path), secrets={})
    rt = Runtime(settings, local_runtime.catalog, local_runtime.sources,
                 QueryCache(clock=local_runtime.clock), clock=local_runtime.clock)
    set_runtime(rt)
    yield rt
    set_runtime(None)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_users_file_shows_visitors_one_generic_line(
        runtime_with_users_file: Runtime, case: str, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a users file with a syntax error next to a hash, or a password where a table goes
    path = runtime_with_users_file.settings.data_dir / "credentials.yaml"
    path.write_text(BROKEN[case], encoding="utf-8")
    caplog.set_level(logging.ERROR)
    # WHEN an anonymous visitor opens the dashboard
    at = AppTest.from_file(HOME, default_timeout=60)
    at.secrets["auth_cookie"] = {"name": "ca_test", "key": TEST_COOKIE_KEY}
    at.run()
    # THEN the page says only that sign-in is not configured
    assert not at.exception
    assert [e.value for e in at.error] == [NOT_CONFIGURED]
    assert len(at.text_input) == 0
    # ... and the log has where the problem is, without the file's lines
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(path) in logged and ("alice" in logged or "line 4" in logged)
    assert HASH[:20] not in logged and "CorrectHorseBattery9" not in logged
