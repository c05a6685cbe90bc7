"""Every page, rendered with AppTest on the **aws backend** talking to a moto server started here
(real HTTP, real botocore clients through ``AWS_ENDPOINT_URL``): the numbers shown are the numbers
put. What moto lacks is patched in :func:`tests.aws_account.patch_moto_gaps` (percentiles,
DescribeAlarmHistory) and nowhere else; what it lacks beyond that (Cost Explorer forecasts,
anomalies and cost-allocation tags) must reach the page as a note, which is asserted too.

The datapoints sit 100 to 75 minutes before the account's "now", and the runtime's clock is
stopped at that "now", so they are inside the default 3-hour range at any time; the page
deadline is raised to 60 s so a loaded machine cannot turn a slow moto answer into "still
loading" (the deadline has its own tests).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.core.cache import QueryCache
from analytics.core.fmt import human
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime, set_runtime
from tests.aws_account import Account, moto_server, patch_moto_gaps, seed_account, server_env
from tests.helpers import signed_in_app
from tests.performance.conftest import spec_points


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[Account, Runtime]]:
    """A moto server, the seeded account, and an aws runtime on it installed for the pages."""
    with pytest.MonkeyPatch.context() as mp, moto_server() as url:
        patch_moto_gaps(mp)
        acct = seed_account(url)
        for k, v in server_env(url).items():
            mp.setenv(k, v)
        settings = load_settings(server_env(url, ANALYTICS_PAGE_DEADLINE_S="60"), secrets={})
        clock = acct.clock()
        rt = build_runtime(settings, cache=QueryCache(clock=clock), catalog=acct.catalog,
                           clock=clock)
        set_runtime(rt)
        try:
            yield acct, rt
        finally:
            set_runtime(None)


def _run(page: str, **query: str) -> AppTest:
    at = signed_in_app(page, query=query).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error], "no error on a healthy account"
    return at


def _metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def _captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_overview_shows_the_requests_errors_and_latency_that_were_put(account) -> None:
    # GIVEN the seeded account (two apps, three APIs, three functions)
    acct, _ = account
    ids = acct.http_ids
    shop_requests = (acct.total("Count", ApiName="shop-public", Stage="prod")
                     + acct.total("Count", ApiId=ids["shop"], Stage="live"))
    shop_5xx = (acct.total("5XXError", ApiName="shop-public", Stage="prod")
                + acct.total("5xx", ApiId=ids["shop"], Stage="live"))
    blog_requests = acct.total("Count", ApiId=ids["blog"])
    p95 = float(np.percentile([80.0 + 10 * i for i in range(6)], 95))  # by the moto patch
    # WHEN the Overview is opened (all apps, last 3 hours)
    at = _run("app_pages/overview.py")
    # THEN each tile is the sum (or ratio) of what was put, app by app
    assert _metrics(at) == [
        ("Requests", human(shop_requests)),
        ("5xx error rate", human(shop_5xx / shop_requests * 100, "%")),
        ("p95 latency", human(p95, "ms")),
        ("Lambda errors", human(acct.total("Errors", FunctionName="shop-checkout")
                                + acct.total("Errors", FunctionName="shop-search"))),
        ("Lambda throttles", human(acct.total("Throttles", FunctionName="shop-search"))),
        ("Requests", human(blog_requests)),
        ("5xx error rate", human(acct.total("5xx", ApiId=ids["blog"]) / blog_requests * 100,
                                 "%")),
        ("p95 latency", human(p95, "ms")),
        ("Lambda errors", human(acct.total("Errors", FunctionName="blog-render"))),
        ("Lambda throttles", human(acct.total("Throttles", FunctionName="blog-render"))),
    ]
    assert shop_requests == 870 and blog_requests == 75
    # AND the footer names the backend and its endpoint, the badge the one firing alarm
    assert any(f"aws (us-east-1 via {acct.url})" in c for c in _captions(at))
    assert any("1 alarm firing" in c for c in _captions(at))


def test_performance_sections_read_the_right_metrics(account) -> None:
    acct, _ = account
    # WHEN the Performance page of shop is opened
    at = _run("app_pages/performance.py", app="shop")
    captions = _captions(at)
    # THEN the REST API (ApiName + Stage) and the staged HTTP API (ApiId + Stage) count
    # what was put, and DynamoDB counts read + write throttle events of the table
    assert "615 requests · 4xx 1.95% · 5xx 0.49% · p95 peak 130 ms" in captions
    assert "255 requests · 4xx 4.71% · 5xx 1.18% · p95 peak 130 ms" in captions
    reads = acct.total("ReadThrottleEvents", TableName="shop-orders")
    writes = acct.total("WriteThrottleEvents", TableName="shop-orders")
    assert (f"read 10 RCU/s · write 5 WCU/s (averages) · {human(reads + writes)} throttle "
            f"events ({human(reads)} read, {human(writes)} write) · Query latency avg 4 ms"
            ) in captions
    assert "300 invocations · errors 4.00% · 6 throttles · p95 peak 145 ms · concurrency " \
           "peak 3" in captions
    # AND the cold-start table says where each row came from
    table = at.dataframe[0].value
    assert list(table["function"]) == ["shop-checkout", "shop-search"]
    assert set(table["log_source"]) == {"text REPORT"}


def test_bucket_size_is_the_sum_of_its_storage_types(account) -> None:
    # GIVEN 6 GB in Standard and 4 GB in Standard-IA, put for yesterday
    # WHEN the last 7 days of shop's S3 section are shown
    at = _run("app_pages/performance.py", app="shop", range="7d", open="s3")
    # THEN the bucket reads 10 GB (Standard alone was 6)
    assert any(c.startswith("10 GB ·") for c in _captions(at)), _captions(at)


def test_realtime_shows_the_custom_metric_points_of_the_table(account) -> None:
    acct, _ = account
    # WHEN the Realtime page of shop is opened
    at = _run("app_pages/realtime.py", app="shop")
    # THEN the points written to the metrics table are drawn and counted
    assert ("Datapoints (15 min)", "3") in _metrics(at)
    assert ("Ingest lag p50", "40 ms") in _metrics(at)
    orders = [c for c in at.get("plotly_chart") if "Orders" in c.proto.spec]
    assert orders, "the Orders panel is drawn"
    assert sorted(spec_points(orders[0])["value"]) == sorted(acct.custom["Orders"])


def test_alarms_lists_every_alarm_by_state_with_its_history(account) -> None:
    # WHEN the Alarms page is opened (all apps)
    at = _run("app_pages/alarms.py")
    # THEN the three alarms are counted and listed ALARM first
    assert [(label.split(": ")[-1], n) for label, n in _metrics(at)[:3]] == [
        ("Firing", "1"), ("Insufficient data", "1"), ("OK", "1")]
    alarms = at.dataframe[0].value
    assert list(alarms["Alarm"]) == ["shop-checkout-errors", "blog-render-errors",
                                     "shop-search-errors"]
    # AND the chosen alarm's history (DescribeAlarmHistory: patched, moto lacks it)
    history = at.dataframe[1].value
    assert (list(history["From"]), list(history["To"])) == (["OK"], ["ALARM"])


def test_costs_show_what_cost_explorer_answered_and_say_what_it_could_not(account) -> None:
    acct, _ = account
    # WHEN the Costs page is opened by an admin
    at = _run("app_pages/costs.py")
    summary = at.dataframe[0].value.set_index("app")
    # THEN last month per app is Cost Explorer's answer, grouped by the Application tag
    assert summary.loc["Shop", "last_month_usd"] == pytest.approx(acct.costs["shop"])
    assert summary.loc["Blog", "last_month_usd"] == pytest.approx(acct.costs["blog"])
    # AND what the endpoint does not implement is said, not drawn as $0
    infos = [i.value for i in at.info]
    assert any(i.startswith("Could not tell whether `Application` is an active") for i in infos)
    assert any(i.startswith("Forecast for Shop unavailable") for i in infos)
    assert not any("<html" in i.lower() for i in infos)
    # AND the dashboard's own calls are priced, retries included
    own = at.dataframe[-1].value.set_index("api")
    # the month's query, and the long-term history's for the days Cost Explorer still keeps
    assert own.loc["ce.GetCostAndUsage", "calls"] == 2
    assert own.loc["ce.GetCostForecast", "retries"] >= 2  # the 500s were retried, and billed


def test_setup_shows_the_doctor_rows_for_admins(account) -> None:
    # WHEN an admin opens Setup
    at = _run("app_pages/setup.py")
    rows = at.dataframe[0].value.set_index("check")
    # THEN the doctor ran against the server: identity, every action, the catalog
    assert rows.loc["Region and identity", "status"] == "✓"
    assert rows.loc["logs:StopQuery", "status"] == "⚠"  # moto has no StopQuery
    assert rows.loc["shop: API shop-public", "status"] == "✓"
    assert any("exit code of the same run in a shell: 0" in c for c in _captions(at))
