"""The SDK against the local twin: typed answers equal the API's JSON, writes are stored, and
a subscription (sync and async) receives what is POSTed."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, timedelta

import pytest
from central_analytics_client import ApiError, Client, IngestError, MetricUpdate

from analytics.api.inputs import aws_datetime
from tests.api.conftest import Twin
from tests.api.test_live import wait_subscribers
from tests.custom.conftest import unique_name


@pytest.fixture
def client(twin: Twin) -> Client:
    return Client(twin.server.graphql_url, token=twin.tokens["jobseek"], timeout=10)


def test_get_metrics_is_typed_and_equal_to_the_json(twin: Twin, client: Client) -> None:
    # GIVEN a window of the twin's pinned clock
    end = twin.now_ms // 60_000 * 60_000
    start = end - 3_600_000
    # WHEN the SDK reads latency percentiles
    got = client.get_metrics("jobseek", "LATENCY", start=start, end=end,
                             statistics=["p50", "p95"], granularity="FIVE_MINUTES")
    # THEN its models carry exactly the API's numbers
    _, raw = twin.post_graphql("""query($s: String!, $e: String!) { getMetrics(
        applicationId: "jobseek", metricType: LATENCY, startTime: $s, endTime: $e,
        statistics: ["p50", "p95"], granularity: FIVE_MINUTES) {
        series { resource statistic points { timestamp value } } } }""",
                               {"s": str(start), "e": str(end)}, twin.tokens["jobseek"])
    expected = {(s["resource"], s["statistic"]): [p["value"] for p in s["points"]]
                for s in raw["data"]["getMetrics"]["series"]}
    assert {(s.resource, s.statistic): [p.value for p in s.points]
            for s in got.series} == expected
    assert got.period_seconds == 300 and len(got.series) == len(expected) > 0
    one = got.one(resource=got.series[0].resource, statistic="p95")
    assert aws_datetime(one.points[0].timestamp) == raw["data"]["getMetrics"]["series"][
        [s["statistic"] for s in raw["data"]["getMetrics"]["series"]].index("p95")
    ]["points"][0]["timestamp"]


def test_realtime_and_costs(twin: Twin, client: Client) -> None:
    realtime = client.get_realtime("jobseek")
    assert [p.key for p in realtime.service] == ["requests", "5xx", "p95", "lambda"]
    assert realtime.window_end > realtime.window_start
    today = date.fromtimestamp(twin.now_ms / 1000)
    costs = client.get_cost_analysis(today.replace(day=1) - timedelta(days=20), today)
    assert [a.application_id for a in costs.by_application] == ["jobseek"]
    assert costs.untagged is None
    assert costs.total == pytest.approx(sum(costs.daily.values()))
    assert costs.total == pytest.approx(sum(costs.by_service.values()))


def test_errors_carry_the_code(client: Client) -> None:
    with pytest.raises(ApiError) as refused:
        client.get_realtime("ilikeyacut")
    assert refused.value.code == "FORBIDDEN"
    with pytest.raises(ApiError) as bad:
        client.get_metrics("jobseek", "LATENCY", start="2026-01-02T00:00:00Z",
                           end="2026-01-01T00:00:00Z")
    assert bad.value.code == "BAD_RANGE"


def test_record_many_batches_and_is_stored(twin: Twin, client: Client) -> None:
    name = unique_name("Sdk")
    metrics = [{"applicationId": "jobseek", "metricName": name, "value": i,
                "timestamp": twin.now_ms - i} for i in range(250)]
    before = twin.server.statuses[202]
    assert client.record_many(metrics) == 250
    assert twin.server.statuses[202] - before == 3  # batches of 100, 100, 50
    stored = twin.rt.local.store.cursor().execute(
        "SELECT count(*), sum(value) FROM custom_metrics WHERE metric_name = ?",
        [name]).fetchone()
    assert stored == (250, sum(range(250)))
    with pytest.raises(IngestError) as refused:
        client.record("ilikeyacut", name, 1)
    assert refused.value.status == 403


def test_subscribe_receives_a_posted_metric(twin: Twin, client: Client) -> None:
    # GIVEN a blocking subscription in a thread
    name = unique_name("Sub")
    got: list[MetricUpdate] = []
    before = twin.server.ingest.hub.subscribers

    def consume() -> None:
        for update in client.subscribe("jobseek", ["CUSTOM"], metric_names=[name]):
            got.append(update)
            return

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    wait_subscribers(twin, before + 1)
    # WHEN the metric is recorded
    assert client.record("jobseek", name, 4, unit="Count", dimensions={"Plan": "pro"}) == 1
    thread.join(5)
    # THEN the update arrived, typed
    [update] = got
    assert (update.metric_name, update.unit, [(p.value, p.dimensions) for p in update.points]
            ) == (name, "Count", [(4.0, {"Plan": "pro"})])


def test_asubscribe_receives_a_posted_metric(twin: Twin, client: Client) -> None:
    name = unique_name("Async")
    before = twin.server.ingest.hub.subscribers

    async def scenario() -> MetricUpdate:
        async def first() -> MetricUpdate:
            async for update in client.asubscribe("jobseek", ["CUSTOM"], metric_names=[name]):
                return update
            raise AssertionError("the subscription ended")

        task = asyncio.create_task(first())
        while twin.server.ingest.hub.subscribers <= before:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(client.record, "jobseek", name, 9)
        return await asyncio.wait_for(task, 5)

    update = asyncio.run(scenario())
    assert update.metric_name == name and update.points[0].value == 9.0


def test_a_refused_subscription_raises_and_does_not_reconnect(twin: Twin) -> None:
    bad = Client(twin.server.graphql_url, token="wrong", sleep=lambda _s: None)
    with pytest.raises(ApiError) as refused:
        next(bad.subscribe("jobseek"))
    assert refused.value.code == "UNAUTHENTICATED"
    mine = Client(twin.server.graphql_url, token=twin.tokens["jobseek"])
    with pytest.raises(ApiError) as forbidden:
        next(mine.subscribe("ilikeyacut"))
    assert forbidden.value.code == "FORBIDDEN"
