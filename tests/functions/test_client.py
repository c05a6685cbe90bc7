"""analytics.custom.client against local HTTP servers: a scripted stub, and the real resolver served
the way the dashboard's local backend serves it (ingest.events.invoke + bearer token)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from analytics.custom import client
from ingest.events import invoke
from ingest.sinks import MemorySink
from tests.conftest import NOW, frozen_clock
from tests.functions.conftest import ingest_app, metric


class Stub:
    """Answers POSTs from a script of (status, JSON body); records every request."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any]] = []
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.url = ""

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        payload = json.loads(body)
        self.requests.append((headers, payload))
        status, answer = self.script.pop(0) if self.script else (202, None)
        if answer is None:
            answer = {"accepted": len(payload["metrics"])}
        return status, answer if isinstance(answer, bytes) else json.dumps(answer).encode()


def serve(respond: Any) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, data = respond(self.path, dict(self.headers), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub()
    for url in serve(lambda path, headers, body: s.answer(headers, body)):
        s.url = url
        yield s


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(client, "_sleep", waited.append)
    return waited


def items(n: int) -> list[dict[str, Any]]:
    """n distinct datapoints (one millisecond apart)."""
    base = metric()
    return [dict(base, value=i, timestamp=base["timestamp"] - i) for i in range(n)]


def test_record_metric_posts_one_metric(stub: Stub, sleeps: list[float]) -> None:
    when = datetime(2026, 11, 24, 12, 0)
    n = client.record_metric("jobseek", "ApplicationsSent", 3, unit="Count",
                             dimensions={"Plan": "pro"}, timestamp=when, endpoint=stub.url,
                             token="t0k")
    assert n == 1
    [(headers, body)] = stub.requests
    assert headers["Authorization"] == "Bearer t0k"
    assert body == {"metrics": [{
        "applicationId": "jobseek", "metricName": "ApplicationsSent", "value": 3, "unit": "Count",
        "dimensions": [{"name": "Plan", "value": "pro"}], "timestamp": "2026-11-24T12:00:00+00:00",
    }]}  # fmt: skip
    assert sleeps == []


def test_endpoint_from_env(
    stub: Stub, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(client.ENDPOINT_ENV, stub.url)
    assert client.record_metrics(items(2)) == 2
    assert len(stub.requests) == 1


def test_lists_are_sent_in_batches_of_100(stub: Stub, sleeps: list[float]) -> None:
    assert client.record_metrics(items(250), endpoint=stub.url) == 250
    assert [len(body["metrics"]) for _, body in stub.requests] == [100, 100, 50]


def test_batches_also_stay_under_256_kb(stub: Stub, sleeps: list[float]) -> None:
    dims = {f"D{i:02d}" + "n" * 200: "v" * 255 for i in range(30)}  # ~15 KB per metric
    big = [metric(value=i, dimensions=[{"name": k, "value": v} for k, v in dims.items()])
           for i in range(40)]  # fmt: skip
    assert client.record_metrics(big, endpoint=stub.url) == 40
    sizes = [len(json.dumps(b, separators=(",", ":"))) for _, b in stub.requests]
    assert len(sizes) > 1 and max(sizes) <= 262_144


def test_503_retries_only_the_not_written_items(stub: Stub, sleeps: list[float]) -> None:
    sent = items(5)
    stub.script = [(503, {"errors": [], "notWritten": [1, 3]}), (202, None)]
    assert client.record_metrics(sent, endpoint=stub.url) == 5
    assert [body["metrics"] for _, body in stub.requests] == [sent, [sent[1], sent[3]]]
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= client.BACKOFF_BASE


def test_5xx_429_and_broken_answers_are_retried_with_growing_backoff(
    stub: Stub, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.random, "uniform", lambda low, high: high)
    stub.script = [(500, b"oops"), (429, {}), (502, b"<html>"), (202, None)]
    assert client.record_metrics(items(3), endpoint=stub.url) == 3
    assert len(stub.requests) == 4
    assert sleeps == [0.2, 0.4, 0.8]


def test_422_raises_with_the_server_errors_and_is_not_retried(
    stub: Stub, sleeps: list[float]
) -> None:
    errors = [{"index": 1, "field": "unit", "message": "unknown unit 'count'"}]
    stub.script = [(422, {"errors": errors})]
    with pytest.raises(client.IngestError) as caught:
        client.record_metrics(items(2), endpoint=stub.url)
    assert caught.value.status == 422
    assert caught.value.errors == errors
    assert "[1] unit: unknown unit" in str(caught.value)
    assert len(stub.requests) == 1 and sleeps == []


def test_a_4xx_in_a_later_batch_reports_what_was_stored(stub: Stub, sleeps: list[float]) -> None:
    stub.script = [(202, None), (400, {"errors": [{"index": None, "field": None, "message": "x"}]})]
    with pytest.raises(client.IngestError) as caught:
        client.record_metrics(items(150), endpoint=stub.url)
    assert (caught.value.status, caught.value.accepted, len(caught.value.unsent)) == (400, 100, 50)


def test_gives_up_after_the_retries(stub: Stub, sleeps: list[float]) -> None:
    stub.script = [(503, {"errors": [], "notWritten": [0]})] * 3
    with pytest.raises(client.IngestError) as caught:
        client.record_metrics(items(2), endpoint=stub.url, retries=2)
    assert len(stub.requests) == 3
    assert caught.value.accepted == 1
    assert caught.value.unsent == [stub.requests[0][1]["metrics"][0]]


def test_connection_errors_are_retried_then_raised(sleeps: list[float]) -> None:
    with pytest.raises(client.IngestError, match="cannot reach"):
        client.record_metric("jobseek", "M", 1, endpoint="http://127.0.0.1:9/metrics", retries=2,
                             timeout=0.5)  # fmt: skip
    assert len(sleeps) == 2


def test_signer_signs_every_attempt(stub: Stub, sleeps: list[float]) -> None:
    signed: list[str] = []

    def signer(request: Any) -> None:
        request.add_header("X-Amz-Date", f"attempt-{len(signed)}")
        signed.append(request.full_url)

    stub.script = [(500, {}), (202, None)]
    client.record_metrics(items(1), endpoint=stub.url, signer=signer)
    assert signed == [stub.url, stub.url]
    assert [h["X-Amz-Date"] for h, _ in stub.requests] == ["attempt-0", "attempt-1"]


# -- against the real resolver, served like the local backend serves it --------------------------
@pytest.fixture
def local_twin() -> Iterator[tuple[str, MemorySink]]:
    sink = MemorySink()
    resolver = ingest_app.build_resolver(
        sink, ["jobseek"], emit_emf=False, authenticate=ingest_app.bearer_authenticator("s3cret"),
        clock=frozen_clock())

    def respond(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        status, _, data = invoke(resolver, "POST", path, headers=headers, body=body)
        return status, data

    for url in serve(respond):
        yield url, sink


def test_client_against_the_local_twin(local_twin: tuple[str, MemorySink]) -> None:
    url, sink = local_twin
    now = NOW - timedelta(minutes=1)
    assert client.record_metric("jobseek", "Signups", 3, unit="Count",
                                dimensions={"Plan": "pro"}, timestamp=now, endpoint=url,
                                token="s3cret") == 1
    assert client.record_metrics(items(120), endpoint=url, token="s3cret") == 120
    assert len(sink.items) == 121
    with pytest.raises(client.IngestError) as caught:
        client.record_metric("jobseek", "M", 1, endpoint=url, token="wrong")
    assert caught.value.status == 401
    with pytest.raises(client.IngestError) as caught:
        client.record_metric("jobseek", "M", 1, unit="count", endpoint=url, token="s3cret")
    assert caught.value.status == 422
    assert caught.value.errors[0]["field"] == "unit"


def test_the_local_twin_serves_concurrent_clients(local_twin: tuple[str, MemorySink]) -> None:
    # Powertools keeps the current event in class attributes; ingest.events.invoke serialises.
    url, sink = local_twin
    results: list[int] = []

    def send(worker: int) -> None:
        batch = [dict(m, metricName=f"W{worker}") for m in items(30)]
        results.append(client.record_metrics(batch, endpoint=url, token="s3cret"))

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [30] * 8
    assert len(sink.items) == 240
