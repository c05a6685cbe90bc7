"""The ingest contract's edges: what is not UTF-8 JSON with unique keys is 400, every answer
is JSON, bursts queue, and a client that hangs up costs one log line.

Before, UTF-16 and BOM bodies got 202 (json.loads guessed the encoding), a duplicated key
silently kept its last value, OPTIONS/HEAD answered an HTML 501, the listen backlog was 5 and
every disconnect printed a BrokenPipe traceback.
"""

from __future__ import annotations

import json
import logging
import socket
import struct

import pytest

from tests.custom.conftest import http_post
from tests.security.conftest import Endpoint, point

BODY = json.dumps(point())


@pytest.mark.parametrize(("raw", "message"), [
    (BODY.encode("utf-16"), "byte order mark"),
    (BODY.encode("utf-16-le"), "malformed JSON"),
    (b"\xef\xbb\xbf" + BODY.encode(), "byte order mark"),
    (BODY.encode("utf-32"), "byte order mark"),
    (b'{"applicationId": "jobseek", "applicationId": "ilikeyacut", "metricName": "M", '
     b'"value": 1}', "duplicate key 'applicationId'"),
    (b'{"metrics": [{"applicationId": "jobseek", "metricName": "M", "value": 1, "value": 1e9}]}',
     "duplicate key 'value'"),
])
def test_bodies_that_are_not_plain_utf8_json_are_400_and_write_nothing(
        endpoint: Endpoint, raw: bytes, message: str) -> None:
    status, body = http_post(endpoint.server.url, raw, endpoint.tokens["jobseek"], raw=True)
    assert status == 400 and message in body["errors"][0]["message"]
    assert endpoint.rows("jobseek") == endpoint.rows("ilikeyacut") == 0


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("OPTIONS", "/metrics", "POST"), ("HEAD", "/metrics", "POST"), ("HEAD", "/health", "GET")])
def test_options_and_head_answer_json_not_html(endpoint: Endpoint, method: str, path: str,
                                               allow: str) -> None:
    import http.client

    conn = http.client.HTTPConnection(endpoint.server.host, endpoint.server.port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    assert resp.status == 405 and resp.getheader("Allow") == allow
    assert resp.getheader("Content-Type") == "application/json"
    if method == "OPTIONS":
        assert json.loads(data)["errors"][0]["message"].startswith(f"{method} not allowed")
    else:
        assert data == b""  # HEAD: the headers of the JSON answer, no body


def test_the_listen_backlog_holds_a_burst(endpoint: Endpoint) -> None:
    assert endpoint.server._httpd.request_queue_size >= 128


def test_a_client_that_hangs_up_is_one_log_line_not_a_traceback(
        endpoint: Endpoint, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a client that sends a request and resets the connection without reading the answer
    caplog.set_level(logging.INFO, logger="analytics.local.ingest_server")
    body = json.dumps({"metrics": [point(value=i) for i in range(100)]}).encode()
    for _ in range(5):
        with socket.create_connection((endpoint.server.host, endpoint.server.port)) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + endpoint.tokens["jobseek"].encode()
                      + f"\r\nContent-Length: {len(body) + 50}\r\n\r\n".encode() + body)
    # WHEN the server notices (a short read: the body never completes)
    assert http_post(endpoint.server.base_url + "/health", None, None, method="GET")[0] == 200
    endpoint.server.stop()
    # THEN no traceback reached stderr, and whatever was logged is one line per client
    err = capsys.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in caplog.records)
