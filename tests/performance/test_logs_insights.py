"""Cold starts on aws: Logs Insights StartQuery / GetQueryResults polling, time-out, failures
(botocore Stubber, fake clock), and the cached entry point."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from typing import Any, cast

import pytest
from botocore.stub import Stubber

from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.core.periods import TimeRange
from analytics.core.settings import load_settings
from analytics.performance import service as coldstarts
from analytics.performance.aws import (
    COLD_START_QUERY,
    DEFAULT_LOGS_TIMEOUT_S,
    AwsPerformance,
    LogsQueryError,
    LogsQueryTimeout,
    parse_cold_start_results,
)
from analytics.performance.coldstarts import COLUMNS
from analytics.performance.insights import default_setup
from analytics.sources import Runtime, aws_sources
from tests.performance.conftest import END, START, TR, aws_runtime, make_catalog

T0, T1 = int(START.timestamp()), int(END.timestamp())


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def rt() -> Runtime:
    return aws_runtime(make_catalog({"id": "shop", "resources": {
        "lambdas": ["fn-a", "fn-b"]}}))


@pytest.fixture
def stubbed(rt: Runtime) -> tuple[AwsPerformance, Stubber, FakeTime]:
    """The runtime's performance source rebuilt on a fake clock (``rt`` uses it too)."""
    fake = FakeTime()
    clients = cast(AwsPerformance, rt.sources.performance).clients
    backend = AwsPerformance(clients=clients, clock=fake.clock, sleep=fake.sleep,
                             log_setup=default_setup)  # Lambda's defaults: text, /aws/lambda
    rt.sources = dataclasses.replace(rt.sources, performance=backend)
    return backend, Stubber(clients.client("logs")), fake


def _start(stub: Stubber, fn: str, qid: str) -> None:
    stub.add_response("start_query", {"queryId": qid}, {
        "logGroupName": f"/aws/lambda/{fn}", "startTime": T0, "endTime": T1,
        "queryString": COLD_START_QUERY, "limit": 10})


def _status(stub: Stubber, qid: str, status: str, results: list[Any] | None = None) -> None:
    stub.add_response("get_query_results", {"status": status, "results": results or []},
                      {"queryId": qid})


def _fields(**values: str) -> list[list[dict[str, str]]]:
    return [[{"field": k, "value": v} for k, v in values.items()]]


def _calls(backend: AwsPerformance) -> dict[str, int]:
    return backend.clients.cache.snapshot()["aws_calls"]


def test_running_running_complete_is_parsed_with_backoff(stubbed) -> None:
    backend, stub, fake = stubbed
    _start(stub, "fn-a", "q-a")
    _status(stub, "q-a", "Running")
    _status(stub, "q-a", "Running")
    _status(stub, "q-a", "Complete", _fields(invocations="200", coldStarts="8",
                                              initP50="312.5", initP95="640.25"))
    with stub:
        table = backend.cold_starts(["fn-a"], start=START, end=END)
    stub.assert_no_pending_responses()
    assert table.to_dict("records") == [{
        "function": "fn-a", "invocations": 200, "cold_starts": 8, "share_pct": 4.0,
        "init_p50_ms": 312.5, "init_p95_ms": 640.25, "note": "", "log_source": "text REPORT"}]
    assert list(table.columns) == COLUMNS
    assert fake.sleeps == [0.5, 1.0]  # backoff doubles
    assert "logs.StopQuery" not in _calls(backend)


def test_scheduled_forever_times_out_with_a_clear_message_and_stops_the_query(stubbed) -> None:
    backend, stub, fake = stubbed
    backend.logs_timeout_s = 5.0
    _start(stub, "fn-a", "q-a")
    # polls at t = 0, 0.5, 1.5, 3.5 and 5.0 (the last sleep is cut to the deadline)
    for _ in range(5):
        _status(stub, "q-a", "Scheduled")
    stub.add_response("stop_query", {"success": True}, {"queryId": "q-a"})
    with stub, pytest.raises(LogsQueryTimeout) as err:
        backend.cold_starts(["fn-a"], start=START, end=END)
    stub.assert_no_pending_responses()
    msg = str(err.value)
    assert "did not finish within 5 s" in msg and "/aws/lambda/fn-a (Scheduled)" in msg
    assert "stopped" in msg and "LOGS_QUERY_TIMEOUT_S" in msg
    assert fake.sleeps == [0.5, 1.0, 2.0, 1.5] and sum(fake.sleeps) == 5.0
    assert _calls(backend)["logs.StopQuery"] == 1


def test_failed_query_is_a_clear_error_and_is_not_stopped(stubbed) -> None:
    backend, stub, _ = stubbed
    _start(stub, "fn-a", "q-a")
    _status(stub, "q-a", "Running")
    _status(stub, "q-a", "Failed")
    with stub, pytest.raises(LogsQueryError, match=r"/aws/lambda/fn-a ended with status Failed"):
        backend.cold_starts(["fn-a"], start=START, end=END)
    stub.assert_no_pending_responses()
    assert "logs.StopQuery" not in _calls(backend)


def test_functions_are_queried_together_and_a_missing_log_group_is_a_note(stubbed) -> None:
    backend, stub, fake = stubbed
    _start(stub, "fn-a", "q-a")
    stub.add_client_error("start_query", "ResourceNotFoundException",
                          "The specified log group does not exist.")
    _start(stub, "fn-b", "q-b")
    _status(stub, "q-a", "Running")
    _status(stub, "q-b", "Complete", _fields(invocations="50", coldStarts="0"))
    _status(stub, "q-a", "Complete", _fields(invocations="10", coldStarts="1",
                                              initP50="400", initP95="400"))
    with stub:
        table = backend.cold_starts(["fn-a", "fn-missing", "fn-b"], start=START, end=END)
    stub.assert_no_pending_responses()
    rows = {r["function"]: r for r in table.to_dict("records")}
    assert list(rows) == ["fn-a", "fn-missing", "fn-b"]
    assert rows["fn-a"]["cold_starts"] == 1 and rows["fn-a"]["share_pct"] == 10.0
    assert rows["fn-missing"]["invocations"] == 0 and "no log group" in rows["fn-missing"]["note"]
    assert rows["fn-b"]["cold_starts"] == 0 and math.isnan(rows["fn-b"]["init_p95_ms"])
    assert fake.sleeps == [0.5]  # one wait for both queries


def test_a_start_error_stops_the_queries_already_started(stubbed) -> None:
    backend, stub, _ = stubbed
    _start(stub, "fn-a", "q-a")
    stub.add_client_error("start_query", "InvalidParameterException", "bad query")
    stub.add_response("stop_query", {"success": True}, {"queryId": "q-a"})
    with stub, pytest.raises(LogsQueryError, match=r"could not start .* /aws/lambda/fn-b"):
        backend.cold_starts(["fn-a", "fn-b"], start=START, end=END)
    stub.assert_no_pending_responses()


def test_timeout_is_configurable(rt: Runtime) -> None:
    # GIVEN the runtime's clients
    clients = cast(AwsPerformance, rt.sources.performance).clients
    # WHEN the sources are built from settings with and without LOGS_QUERY_TIMEOUT_S
    env = {"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"}
    default = cast(AwsPerformance, aws_sources(load_settings(env, secrets={}),
                                               clients=clients).performance)
    tuned = cast(AwsPerformance, aws_sources(
        load_settings({**env, "LOGS_QUERY_TIMEOUT_S": "7.5"}, secrets={}),
        clients=clients).performance)
    # THEN each source waits as long as configured
    assert default.logs_timeout_s == DEFAULT_LOGS_TIMEOUT_S == 20.0
    assert tuned.logs_timeout_s == 7.5
    assert AwsPerformance(clients=clients, logs_timeout_s=3).logs_timeout_s == 3.0


def test_results_parsing_edge_cases() -> None:
    assert parse_cold_start_results("f", [])["invocations"] == 0
    r = parse_cold_start_results("f", _fields(invocations="12", coldStarts="0", initP50=""))
    assert r["cold_starts"] == 0 and r["share_pct"] == 0.0 and math.isnan(r["init_p50_ms"])


def test_entry_point_caches_as_logs_and_reports_a_timeout_without_traceback(rt, stubbed) -> None:
    backend, stub, _ = stubbed
    app = rt.catalog.get("shop")
    _start(stub, "fn-a", "q-a")
    _start(stub, "fn-b", "q-b")
    _status(stub, "q-a", "Complete", _fields(invocations="4", coldStarts="2", initP50="1",
                                              initP95="2"))
    _status(stub, "q-b", "Complete", _fields(invocations="8", coldStarts="2", initP50="3",
                                              initP95="4"))
    with stub:
        first = coldstarts.cold_starts(rt, app, tr=TR)
        second = coldstarts.cold_starts(rt, app, tr=TR)  # from the cache: no more calls
    stub.assert_no_pending_responses()
    assert first.total == 4 and list(first.table["share_pct"]) == [50.0, 25.0]
    assert second.fetched_at == first.fetched_at and not second.stale
    assert rt.cache.snapshot()["upstream_calls"] == {"logs": 1}
    assert "Logs Insights" in first.source
    # another range, and Logs Insights never finishes: a clear error, no traceback
    backend.logs_timeout_s = 0.0
    other = TimeRange(TR.start, TR.end + timedelta(minutes=5), TR.period)
    for fn, qid in (("fn-a", "q-c"), ("fn-b", "q-d")):
        stub.add_response("start_query", {"queryId": qid}, {
            "logGroupName": f"/aws/lambda/{fn}", "startTime": T0, "endTime": T1 + 300,
            "queryString": COLD_START_QUERY, "limit": 10})
    _status(stub, "q-c", "Running")
    _status(stub, "q-d", "Running")
    stub.add_response("stop_query", {"success": True}, {"queryId": "q-c"})
    stub.add_response("stop_query", {"success": True}, {"queryId": "q-d"})
    with stub, pytest.raises(UpstreamError, match="did not finish within 0 s"):
        coldstarts.cold_starts(rt, app, tr=other)
    stub.assert_no_pending_responses()


def test_entry_point_enforces_access(rt: Runtime) -> None:
    app = rt.catalog.get("shop")
    access.set_principal(access.Principal("viewer", "viewer", frozenset({"other"})))
    try:
        with pytest.raises(access.AccessDenied):
            coldstarts.cold_starts(rt, app, tr=TR)
    finally:
        access.set_principal(None)


def test_the_time_bound_covers_every_batch_together(stubbed) -> None:
    backend, stub, fake = stubbed
    backend.logs_timeout_s = 2.0
    backend.max_concurrent = 1  # one log group at a time
    _start(stub, "fn-a", "q-a")
    _status(stub, "q-a", "Running")
    _status(stub, "q-a", "Running")
    _status(stub, "q-a", "Complete", _fields(invocations="1", coldStarts="0"))
    _start(stub, "fn-b", "q-b")
    _status(stub, "q-b", "Running")
    _status(stub, "q-b", "Running")
    stub.add_response("stop_query", {"success": True}, {"queryId": "q-b"})
    with stub, pytest.raises(LogsQueryTimeout, match="within 2 s for /aws/lambda/fn-b"):
        backend.cold_starts(["fn-a", "fn-b"], start=START, end=END)
    stub.assert_no_pending_responses()
    assert fake.sleeps == [0.5, 1.0, 0.5] and sum(fake.sleeps) == 2.0
