"""GetMetricData's per-result StatusCode and Messages: a series answered ``Forbidden`` or
``InternalError`` is empty like one without traffic, so it reaches the page as a note."""

from __future__ import annotations

from botocore.stub import ANY, Stubber

from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.notes import collecting
from analytics.core.settings import load_settings
from analytics.metrics.aws import AwsMetrics
from analytics.metrics.frames import NOTES
from analytics.metrics.queries import MetricQuery
from analytics.metrics.service import fetch_metrics
from tests.conftest import frozen_clock
from tests.metrics.conftest import END, NOW, START


def _q(metric: str, resource: str) -> MetricQuery:
    return MetricQuery("AWS/Lambda", metric, (("FunctionName", resource),), "Sum", 300, "shop",
                       resource, metric)


def _runtime() -> tuple[object, Stubber]:
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                             secrets={})
    cache = QueryCache(clock=frozen_clock())
    source = AwsMetrics(clients=AwsClients(settings, cache), clock=lambda: NOW)

    class Rt:  # the three things fetch_metrics reads of a runtime
        pass

    rt = Rt()
    rt.cache, rt.settings = cache, settings  # type: ignore[attr-defined]
    rt.sources = type("S", (), {"metrics": source})()  # type: ignore[attr-defined]
    return rt, Stubber(source.clients.client("cloudwatch"))


def test_forbidden_and_internal_error_results_become_notes_on_the_page() -> None:
    # GIVEN GetMetricData answering one series Complete, one Forbidden and one InternalError,
    # with AWS's messages
    rt, stub = _runtime()
    queries = [_q("Invocations", "fn-a"), _q("Errors", "fn-b"), _q("Throttles", "fn-c")]
    stub.add_response("get_metric_data", {"MetricDataResults": [
        {"Id": "q0", "StatusCode": "Complete", "Timestamps": [START], "Values": [12.0]},
        {"Id": "q1", "StatusCode": "Forbidden", "Timestamps": [], "Values": [],
         "Messages": [{"Code": "Forbidden", "Value": "Insufficient permissions for fn-b"}]},
        {"Id": "q2", "StatusCode": "InternalError", "Timestamps": [], "Values": []},
    ]}, {"MetricDataQueries": ANY, "StartTime": START, "EndTime": END,
         "ScanBy": "TimestampAscending"})
    # WHEN a page fetches them (twice: the second view is served from the cache)
    with stub, collecting() as notes:
        first = fetch_metrics(rt, queries, start=START, end=END)  # type: ignore[arg-type]
    with collecting() as again:
        fetch_metrics(rt, queries, start=START, end=END)  # type: ignore[arg-type]
    # THEN the data that came is kept and each problem is one note naming series and message
    assert first.value["value"].tolist() == [12.0]
    assert len(notes) == 2 and notes == again == first.value.attrs[NOTES]
    forbidden = next(n for n in notes if "Forbidden" in n)
    assert "Errors Sum of fn-b" in forbidden and "may not read these metrics" in forbidden
    assert "Insufficient permissions for fn-b" in forbidden
    assert "InternalError for 1 series (Throttles Sum of fn-c)" in next(
        n for n in notes if "InternalError" in n)


def test_a_complete_answer_carries_no_note() -> None:
    rt, stub = _runtime()
    stub.add_response("get_metric_data", {"MetricDataResults": [
        {"Id": "q0", "StatusCode": "Complete", "Timestamps": [], "Values": []}]}, None)
    with stub, collecting() as notes:
        fetch_metrics(rt, [_q("Errors", "fn-a")], start=START, end=END)  # type: ignore[arg-type]
    assert notes == []
