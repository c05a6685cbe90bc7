"""Frugality (whole-day keys, 0 Cost Explorer calls on a second view) and who sees what."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from botocore.stub import Stubber

from analytics.core import access
from analytics.costs import queries as cost_queries
from analytics.costs import service as costs
from analytics.costs.queries import UNTAGGED
from analytics.sources import Runtime
from tests.costs.conftest import ce_page, forecast_response
from tests.helpers import signed_in_app

TODAY = date(2026, 11, 26)


def _queue_cold_view(stub: Stubber) -> None:
    """What a cold admin view asks Cost Explorer, in order: usage (2 pages), one forecast per
    app, the account forecast, the anomalies."""
    stub.add_response("get_cost_and_usage", ce_page(
        [("2026-11-02", [("AWS Lambda", "jobseek", 20.0), ("AWS Lambda", "", 2.0)])], "t2"))
    stub.add_response("get_cost_and_usage", ce_page(
        [("2026-11-03", [("AWS Lambda", "ilikeyacut", 10.0)]),
         ("2026-10-02", [("AWS Lambda", "jobseek", 18.0)])]))
    for mean in (280.0, 790.0, 1150.0):
        stub.add_response("get_cost_forecast",
                          forecast_response(mean, mean - 20, mean + 20, "2026-11-26", "2026-12-01"))
    stub.add_response("get_anomalies", {"Anomalies": []})


def test_second_view_makes_no_cost_explorer_call(aws_rt: tuple[Runtime, Stubber]) -> None:
    rt, stub = aws_rt
    _queue_cold_view(stub)
    first = costs.cost_view(rt, rt.catalog.apps, today=datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    stub.assert_no_pending_responses()
    assert cost_queries.ce_requests(rt) == 6
    # later the same day, another viewer: no response is queued, so any CE call would fail
    second = costs.cost_view(rt, rt.catalog.apps, today=datetime(2026, 11, 26, 17, 30, tzinfo=UTC))
    assert cost_queries.ce_requests(rt) == 6
    assert second.total.mtd == first.total.mtd == 32.0
    assert second.total.same_days_last_month == 18.0
    js = next(a for a in second.apps if a.key == "jobseek")
    assert js.month_forecast.mean == pytest.approx(20.0 + 790.0)


def test_two_times_of_one_day_share_one_key(fixed_rt: Runtime) -> None:
    costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=datetime(2026, 11, 20, 0, 5, tzinfo=UTC))
    snap = fixed_rt.cache.snapshot()
    costs.cost_view(
        fixed_rt, fixed_rt.catalog.apps, today=datetime(2026, 11, 20, 23, 55, tzinfo=UTC)
    )
    again = fixed_rt.cache.snapshot()
    assert again["upstream_calls"] == snap["upstream_calls"] == {"costs": 5}
    assert again["entries"] == snap["entries"]
    keys = [k for (kind, k) in fixed_rt.cache._entries if kind == "costs"]
    assert all(isinstance(part, str | int | tuple | type(None)) for k in keys for part in k)
    assert ("usage", "2026-10-01", "2026-11-20", "DAILY", "UnblendedCost",
            ("SERVICE", "TAG")) in keys
    # the next day is a new key
    costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=date(2026, 11, 21))
    assert fixed_rt.cache.snapshot()["upstream_calls"]["costs"] > 5


def test_second_page_view_makes_no_cost_query(installed_runtime: Runtime) -> None:
    at = signed_in_app("app_pages/costs.py").run()
    assert not at.exception
    cold = installed_runtime.cache.snapshot()["upstream_calls"]["costs"]
    assert cold >= 3
    at.run()
    signed_in_app("app_pages/costs.py", apps=["jobseek"], role="viewer").run()
    assert installed_runtime.cache.snapshot()["upstream_calls"]["costs"] == cold


def test_viewer_sees_only_their_app_and_no_untagged(fixed_rt: Runtime) -> None:
    access.set_principal(access.Principal("js", "viewer", frozenset({"jobseek"})))
    frame = cost_queries.costs(fixed_rt, date(2026, 11, 1), TODAY).value
    assert set(frame["app"]) == {"jobseek"}
    with pytest.raises(access.AccessDenied):
        cost_queries.forecast(fixed_rt, TODAY, None)
    with pytest.raises(access.AccessDenied):
        cost_queries.forecast(fixed_rt, TODAY, "ilikeyacut")
    with pytest.raises(access.AccessDenied):
        cost_queries.costs(fixed_rt, date(2026, 11, 1), TODAY, group_by=("SERVICE",))
    anomalies = cost_queries.anomalies(fixed_rt, date(2026, 9, 1), TODAY).value
    assert set(anomalies["app"]) <= {"jobseek"}
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=TODAY)
    assert [a.key for a in view.apps] == ["jobseek"] and view.untagged_share is None
    assert view.total.mtd == view.apps[0].mtd


def test_admin_sees_untagged_about_eight_percent(fixed_rt: Runtime) -> None:
    access.set_principal(access.Principal("boss", "admin", None))
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=date(2026, 12, 1))
    assert UNTAGGED in set(view.daily["app"])
    assert 6.0 < view.untagged_share < 10.0
    # an admin restricted to one app is treated as a viewer of that app
    access.set_principal(access.Principal("half", "admin", frozenset({"ilikeyacut"})))
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=date(2026, 12, 1))
    assert set(view.daily["app"]) == {"ilikeyacut"} and view.untagged_share is None


def test_tags_outside_the_catalog_are_admin_only(fixed_rt: Runtime) -> None:
    from analytics.costs.frames import cost_frame

    frame = cost_frame([(TODAY, "AWS Lambda", "jobseek", 3.0, False),
                        (TODAY, "AWS Lambda", "legacy-crm", 2.0, False),
                        (TODAY, "AWS Lambda", "", 1.0, False),
                        (TODAY, "AWS Lambda", "ilikeyacut", 4.0, False)])
    admin = cost_queries.label_and_filter(frame, fixed_rt.catalog)
    assert dict(zip(admin["app"], admin["amount"], strict=True)) == {
        "jobseek": 3.0, "(other tag: legacy-crm)": 2.0, UNTAGGED: 1.0, "ilikeyacut": 4.0}
    access.set_principal(access.Principal("js", "viewer", frozenset({"jobseek"})))
    viewer = cost_queries.label_and_filter(frame, fixed_rt.catalog)
    assert list(viewer["app"]) == ["jobseek"] and list(viewer["amount"]) == [3.0]
