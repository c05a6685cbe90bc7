"""``python -m analytics.ui.serve``: the runtime (and so the ingest endpoint) before Streamlit,
in the same process. Streamlit's bootstrap is replaced by a recorder: starting a real server is
what ``make run`` is for."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from analytics.local import ingest_server as ingest_server_mod
from analytics.sources import Runtime
from analytics.ui import serve


def test_banner_names_the_dashboard_and_the_endpoint_but_no_token(
        custom_rt: Runtime, server: Any, token: str) -> None:
    text = serve.banner(custom_rt, 8501)
    assert "http://localhost:8501" in text
    assert f"POST {server.url}" in text and f"GET {server.base_url}/health" in text
    # tokens are printed once, when made (by the endpoint), never on every start
    assert token not in text and "analytics.cli.tokens rotate" in text


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() configures the "analytics" logger for a terminal; undo it for later tests."""
    ours = logging.getLogger("analytics")
    handlers, level = list(ours.handlers), ours.level
    yield
    ours.handlers[:] = handlers
    ours.setLevel(level)


def test_main_builds_the_runtime_then_runs_streamlit_in_process(
        custom_rt: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from streamlit.web import bootstrap

    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr("analytics.sources.get_runtime", lambda: custom_rt)
    monkeypatch.setattr(serve.atexit, "register", lambda fn: calls.append(("atexit", fn)))
    monkeypatch.setattr(ingest_server_mod, "quiet_lambda_logs",
                        lambda level: calls.append(("quiet", level)))
    monkeypatch.setattr(bootstrap, "load_config_options",
                        lambda flag_options: calls.append(("config", dict(flag_options))))
    monkeypatch.setattr(bootstrap, "run", lambda *a: calls.append(("run", a)))
    serve.main(["--port", "8599"])
    assert [c[0] for c in calls] == ["atexit", "quiet", "config", "run"]
    assert calls[1][1] == "WARNING"
    flags = {"server_port": 8599, "server_address": "127.0.0.1"}  # this machine only
    assert calls[2][1] == flags
    assert calls[3][1] == (str(serve.MAIN_SCRIPT), False, [], flags)
    assert "http://localhost:8599" in capsys.readouterr().out


def test_a_configuration_error_exits_2_with_the_message(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.core.settings import SettingsError

    def broken() -> Runtime:
        raise SettingsError("ANALYTICS_BACKEND='bogus': expected one of ('local', 'aws')")

    monkeypatch.setattr("analytics.sources.get_runtime", broken)
    with pytest.raises(SystemExit) as exc:
        serve.main([])
    assert exc.value.code == 2
    assert "Configuration error — ANALYTICS_BACKEND='bogus'" in capsys.readouterr().err


def test_port_and_ingest_log_level_come_from_the_settings(
        custom_rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a runtime whose settings say DASHBOARD_PORT=8600 and INGEST_LOG_LEVEL=INFO
    from streamlit.web import bootstrap

    settings = custom_rt.settings.model_copy(
        update={"dashboard_port": 8600, "ingest_log_level": "INFO"})
    rt = dataclasses.replace(custom_rt, settings=settings)
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr("analytics.sources.get_runtime", lambda: rt)
    monkeypatch.setattr(serve.atexit, "register", lambda fn: None)
    monkeypatch.setattr(ingest_server_mod, "quiet_lambda_logs",
                        lambda level: calls.append(("quiet", level)))
    monkeypatch.setattr(bootstrap, "load_config_options", lambda flag_options: None)
    monkeypatch.setattr(bootstrap, "run", lambda *a: calls.append(("run", a[3])))
    # WHEN serve starts without --port
    serve.main([])
    # THEN Streamlit listens on the configured port (this machine only) and the Lambda logs at
    # the configured level
    assert calls == [("quiet", "INFO"),
                     ("run", {"server_port": 8600, "server_address": "127.0.0.1"})]
