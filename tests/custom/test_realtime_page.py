"""The Realtime page (through Home.py, signed in), its fragment body, and its cache behaviour."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from analytics.core.cache import QueryCache
from analytics.custom import service as cm
from analytics.realtime import service as realtime
from analytics.sources import Runtime
from analytics.ui.realtime import render_live
from tests.conftest import NOW, NOW_MS
from tests.custom.conftest import AwsSide, http_post, metric, unique_name
from tests.helpers import signed_in_app

PAGE = "app_pages/realtime.py"


@pytest.fixture
def fresh(installed: Runtime, server: Any, token: str) -> Runtime:
    """The installed runtime with datapoints sent just now (the history ends at its start)."""
    batch = [metric(metricName=m, value=v, timestamp=NOW_MS - 1500, dimensions=d)
             for m, v, d in (("JobSearches", 9, [{"name": "Plan", "value": "free"}]),
                             ("ApplicationsSent", 2, [{"name": "Plan", "value": "pro"}]),
                             ("ActiveUsers", 7012, None))]
    assert http_post(server.url, {"metrics": batch}, token)[0] == 202
    return installed


def chart_titles(at: Any) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_the_page_draws_service_and_every_custom_metric(fresh: Runtime) -> None:
    at = signed_in_app(PAGE, query={"app": "jobseek"}).run()
    assert not at.exception
    titles = chart_titles(at)
    assert titles[:4] == ["Requests per minute", "5xx errors per minute", "p95 latency",
                          "Lambda errors and throttles per minute"]
    # Every custom metric of the app, its active users first (other tests of this folder add
    # metrics of their own to the shared store, hence the listing).
    names = cm.list_custom_metrics(fresh, "jobseek")
    assert len(titles) == 4 + len(names)
    assert titles[4] == "ActiveUsers · Average per 10 s"
    assert {"ApplicationsSent · Sum per 10 s", "JobSearches · Sum per 10 s"} <= set(titles)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Last datapoint"].endswith("s ago")
    assert metrics["Ingest lag p50"].endswith(" ms")
    assert at.title[0].value == "Realtime · JobSeek"
    assert at.query_params["every"] == "5s"
    spec = json.loads(at.get("plotly_chart")[titles.index("JobSearches · Sum per 10 s")]
                      .proto.spec)
    assert {t["name"] for t in spec["data"]} == {"Plan=free", "Plan=pro"}


def test_interval_and_statistic_are_selectable(fresh: Runtime) -> None:
    at = signed_in_app(PAGE, query={"app": "ilikeyacut", "every": "2s"}).run()
    assert not at.exception
    assert at.selectbox(key="rt_every").value == "2s"
    assert "refresh every 2 s" in at.caption[0].value
    at.selectbox(key="rt_every").select("off")
    at.selectbox(key="rt_stat").select("Maximum")
    at.run()
    assert not at.exception
    assert at.query_params["every"] == "off"
    assert "refresh off" in at.caption[0].value
    assert "HaircutsGenerated · Maximum per 10 s" in chart_titles(at)


def test_a_bad_interval_in_the_url_falls_back_with_a_warning(fresh: Runtime) -> None:
    at = signed_in_app(PAGE, query={"app": "jobseek", "every": "1ms"}).run()
    assert not at.exception
    assert "not one of off, 2s, 5s, 10s, 30s" in at.sidebar.warning[0].value
    assert at.selectbox(key="rt_every").value == "5s"


def test_a_user_only_sees_their_apps(fresh: Runtime) -> None:
    at = signed_in_app(PAGE, query={"app": "jobseek"}, role="viewer", apps=["ilikeyacut"]).run()
    assert not at.exception
    assert at.title[0].value == "Realtime · iLikeYaCut"
    assert not any("JobSearches" in t for t in chart_titles(at))


def test_the_fragment_body_draws_the_fresh_point(fresh: Runtime) -> None:
    # Under AppTest the run_every timer never fires: call the fragment's function directly.
    view = render_live(fresh, "jobseek")
    assert view is not None
    by_title = {p.title: p for p in view.custom}
    searches = by_title["JobSearches · Sum per 10 s"].lines["Plan=free"]
    assert searches.iloc[-1] >= 9.0
    age = view.latest.age_s(NOW.timestamp())
    assert age is not None and age < 10
    assert view.start < NOW <= view.end
    assert (view.end - view.start).total_seconds() == 15 * 60


def test_the_drawn_window_holds_its_own_now_at_a_minute_boundary(fresh: Runtime) -> None:
    # GIVEN a clock 0.2 s before a minute ends that moves on by 0.5 s each time it is read
    start = datetime(2026, 11, 26, 15, 36, 59, 800_000, tzinfo=UTC)
    ticks = iter(start.timestamp() + 0.5 * i for i in range(1000))
    rt = dataclasses.replace(fresh, clock=lambda: next(ticks))
    # WHEN the fragment body draws one refresh
    view = render_live(rt, "jobseek")
    # THEN the window was cut from the one "now" it reports (read once, before the minute ended)
    assert view is not None
    assert view.end == datetime(2026, 11, 26, 15, 37, tzinfo=UTC)
    assert view.start < start <= view.end


def counting_runtime(base: Runtime, clock: list[float]) -> Runtime:
    return Runtime(base.settings, base.catalog, base.sources, QueryCache(clock=lambda: clock[0]),
                   clock=base.clock)


def test_two_refreshes_within_the_ttl_make_one_upstream_call(fresh: Runtime) -> None:
    clock = [NOW.timestamp()]
    rt = counting_runtime(fresh, clock)
    now = NOW
    realtime.realtime_view(rt, "jobseek", now=now)
    first = dict(rt.cache.snapshot()["upstream_calls"])
    live = 1 + len(cm.list_custom_metrics(rt, "jobseek"))  # latest + 1 per custom metric
    assert first == {"realtime": 1, "live": live, "discovery": 1}  # service metrics: 1 batch
    clock[0] += 0.5  # inside every TTL: nothing is asked again
    realtime.realtime_view(rt, "jobseek", now=now)
    assert rt.cache.snapshot()["upstream_calls"] == first
    clock[0] += 1.0  # past the 1 s live TTL (which the local listing shares), not the 2 s one
    realtime.realtime_view(rt, "jobseek", now=now)
    assert rt.cache.snapshot()["upstream_calls"] == {"realtime": 1, "live": 2 * live,
                                                     "discovery": 2}
    clock[0] += 1.0  # past the service metrics' 2 s as well
    realtime.realtime_view(rt, "jobseek", now=now)
    assert rt.cache.snapshot()["upstream_calls"] == {"realtime": 2, "live": 3 * live,
                                                     "discovery": 3}


def test_a_new_metric_name_and_dimension_are_on_the_next_refresh(
        fresh: Runtime, server: Any, token: str) -> None:
    # GIVEN a Realtime view drawn before the app sent a new metric name and a new dimension
    clock = [NOW.timestamp()]
    rt = counting_runtime(fresh, clock)
    realtime.realtime_view(rt, "jobseek", now=NOW)
    name = unique_name("New")
    batch = [metric(metricName=name, value=4, timestamp=NOW_MS - 500, dimensions=None),
             metric(metricName="JobSearches", value=1, timestamp=NOW_MS - 500,
                    dimensions=[{"name": "Plan", "value": "team"}])]
    assert http_post(server.url, {"metrics": batch}, token)[0] == 202
    # WHEN the page refreshes once the realtime TTL (2 s) has passed
    clock[0] += 2.5
    view = realtime.realtime_view(rt, "jobseek", now=NOW)
    # THEN both are drawn: the name gets its panel, the dimension set its line
    panels = {p.title.split(" · ")[0]: p for p in view.custom}
    assert name in panels and panels[name].lines[name].sum() == 4.0
    assert "Plan=team" in panels["JobSearches"].lines


def test_fifty_tabs_cost_the_upstream_calls_of_one(fresh: Runtime) -> None:
    rt = counting_runtime(fresh, [NOW.timestamp()])
    now = NOW
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def tab() -> None:
        try:
            barrier.wait()
            realtime.realtime_view(rt, "jobseek", now=now)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    live = 1 + len(cm.list_custom_metrics(rt, "jobseek"))
    assert rt.cache.snapshot()["upstream_calls"] == {"realtime": 1, "live": live,
                                                     "discovery": 1}


def test_on_aws_many_tabs_make_the_aws_calls_of_one(aws: AwsSide) -> None:
    aws.emf_copy("JobSeek/Business", ["JobSearches"])
    assert aws.post({"metrics": [metric(metricName="JobSearches", timestamp=NOW_MS - 1000)]})[0] \
        == 202
    when = NOW
    threads = [threading.Thread(target=realtime.realtime_view, args=(aws.rt, "jobseek"),
                                kwargs={"now": when})
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls = aws.rt.cache.snapshot()["aws_calls"]
    # one GetMetricData, one ListMetrics, and per metric (ActiveUsers, JobSearches) one Query
    # for the latest points and one for the series
    assert calls == {"cloudwatch.GetMetricData": 1, "cloudwatch.ListMetrics": 1,
                     "dynamodb.Query": 4}
    view = realtime.realtime_view(aws.rt, "jobseek", now=when)
    assert [p.title for p in view.custom] == ["ActiveUsers · Average per 10 s",
                                              "JobSearches · Sum per 10 s"]
    assert view.custom[1].lines["Plan=pro"].sum() == 3.0
