"""The local endpoint as an HTTP server: routes, framing, keep-alive, tokens, start-up wiring."""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from analytics.core.settings import load_settings
from analytics.local.custom_sink import DuckDBSink
from analytics.local.ingest_server import (
    READ_CAP_BYTES,
    TOKEN_FILE,
    IngestServer,
    ingest_token,
    start_ingest_server,
)
from analytics.local.live_services import find_service, start
from analytics.local.store import LocalStore
from analytics.sources import Runtime
from tests.conftest import ROOT, frozen_clock, local_env
from tests.custom.conftest import http_post, local_rows, metric, unique_name


def raw_request(srv: IngestServer, payload: bytes) -> bytes:
    """Send raw bytes on a fresh socket and return everything the server answers."""
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        s.sendall(payload)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_health_answers_200_without_a_token(server: IngestServer) -> None:
    assert http_post(server.base_url + "/health", None, None, method="GET") == (
        200, {"status": "ok"})


def test_wrong_method_and_unknown_path(server: IngestServer, token: str) -> None:
    status, body = http_post(server.url, None, token, method="GET")
    assert status == 405 and "use POST" in body["errors"][0]["message"]
    status, body = http_post(server.base_url + "/nope", {}, token)
    assert status == 404


def test_a_wrong_token_is_401(server: IngestServer, token: str, custom_rt: Runtime) -> None:
    name = unique_name()
    assert http_post(server.url, metric(metricName=name), token + "x")[0] == 401
    assert http_post(server.url, metric(metricName=name), None,
                     headers={"Authorization": token})[0] == 401  # no "Bearer "
    assert local_rows(custom_rt, name) == []


def test_invalid_or_huge_content_length_is_refused_unread(server: IngestServer,
                                                          token: str) -> None:
    answer = raw_request(server, b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: abc\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    big = READ_CAP_BYTES + 1
    answer = raw_request(server, f"POST /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                 f"{token}\r\nContent-Length: {big}\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower()
    assert json.loads(body)["errors"][0]["message"].startswith(f"body is {big} bytes")


def test_chunked_bodies_are_411(server: IngestServer, token: str) -> None:
    answer = raw_request(server, b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 411")


def test_keep_alive_serves_several_batches_on_one_connection(server: IngestServer, token: str,
                                                             custom_rt: Runtime) -> None:
    name = unique_name()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    before = server.statuses[202]
    try:
        for i in range(3):
            conn.request("POST", "/metrics", json.dumps(metric(metricName=name, value=i,
                                                               timestamp=None)),
                         {"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            assert (resp.status, json.loads(resp.read())) == (202, {"accepted": 1})
    finally:
        conn.close()
    assert server.statuses[202] - before == 3
    assert len(local_rows(custom_rt, name)) >= 1  # server-side "now" may repeat a millisecond


def test_token_precedence_env_then_secrets_then_a_generated_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INGEST_TOKEN", raising=False)
    settings = load_settings(local_env(tmp_path), secrets={})
    token, source = ingest_token(settings)
    path = tmp_path / TOKEN_FILE
    assert source == str(path) and len(token) >= 40
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert token in capsys.readouterr().out  # printed once, when generated ...
    assert ingest_token(settings) == (token, str(path))
    assert capsys.readouterr().out == ""  # ... and never again
    with_secret = load_settings(local_env(tmp_path),
                                secrets={"analytics": {"INGEST_TOKEN": "from-secrets"}})
    assert ingest_token(with_secret) == ("from-secrets", "secrets.toml")
    with_env = load_settings(local_env(tmp_path, INGEST_TOKEN="from-env"),
                             secrets={"analytics": {"INGEST_TOKEN": "from-secrets"}})
    assert ingest_token(with_env) == ("from-env", "$INGEST_TOKEN")


def test_a_taken_port_leaves_the_dashboard_running_without_the_endpoint(
        tmp_path: Path, server: IngestServer, caplog: pytest.LogCaptureFixture) -> None:
    store = LocalStore(tmp_path / "x.duckdb")
    settings = load_settings(local_env(tmp_path, INGEST_PORT=str(server.port)), secrets={})
    from analytics.core.catalog import load_catalog

    catalog = load_catalog(settings.catalog_path)
    assert start_ingest_server(catalog, settings, DuckDBSink(store)) is None
    assert "INGEST_PORT" in caplog.text
    store.close()


def test_ingest_disabled_writes_history_but_starts_no_service(tmp_path: Path) -> None:
    settings = load_settings(local_env(tmp_path, SIMULATOR_HISTORY_DAYS="1"), secrets={})
    from analytics.core.catalog import load_catalog

    store = LocalStore(tmp_path / "y.duckdb")
    services = start(load_catalog(settings.catalog_path), settings, store)
    assert services == []
    apps = {r[0] for r in store.cursor().execute(
        "SELECT DISTINCT app FROM custom_metrics").fetchall()}
    assert apps == {"ilikeyacut", "jobseek"}
    store.close()


def test_the_runtime_serves_the_endpoint_and_stops_it(custom_rt: Runtime,
                                                      server: IngestServer) -> None:
    assert find_service(custom_rt.local.services, IngestServer) is server
    assert server.port != 8787  # INGEST_PORT=0 picked a free port


def test_a_failing_store_is_503_naming_every_index(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.core.catalog import load_catalog
    from analytics.local.ingest_server import build_local_resolver

    store = LocalStore(tmp_path / "z.duckdb")
    sink = DuckDBSink(store)
    srv = IngestServer(build_local_resolver(load_catalog(ROOT / "apps.toml"), sink, "t",
                                            clock=frozen_clock()), "t", port=0).start()
    try:
        def broken(*_a: object, **_k: object) -> int:
            raise OSError("disk full")

        monkeypatch.setattr(store, "transaction", broken)
        name = unique_name()
        status, body = http_post(srv.url, {"metrics": [metric(metricName=name, value=i,
                                                              timestamp=None)
                                                       for i in range(3)]}, "t")
        assert status == 503 and body["notWritten"] == [0, 1, 2]
        monkeypatch.undo()
        assert sink.count() == 0
        assert http_post(srv.url, metric(metricName=name), "t") == (202, {"accepted": 1})
    finally:
        srv.stop()
        store.close()
