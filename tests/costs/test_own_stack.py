"""What the dashboard itself costs: its stack (tagged Application=central-analytics) as a row
beside the monitored apps, for admins, on both backends; and its own API calls counted for the
whole fleet when a shared cache tier adds every task's up."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from analytics.core import access
from analytics.core.access import Principal
from analytics.core.cache import QueryCache
from analytics.costs import own_spend
from analytics.costs import service as costs
from analytics.costs.frames import OWN_STACK_TAG
from analytics.costs.queries import OWN_STACK, OWN_STACK_LABEL, label_and_filter
from analytics.local import sim_costs
from analytics.sources import Runtime
from central_analytics.tagging import APPLICATION_TAG
from tests.costs.conftest import ce_page
from tests.redis_server import RedisServer

TODAY = date(2026, 12, 15)


def test_the_tag_is_the_one_the_stack_puts_on_its_resources() -> None:
    assert OWN_STACK_TAG == APPLICATION_TAG == sim_costs.OWN_STACK_TAG


def test_an_admin_sees_the_dashboards_stack_beside_the_apps(fixed_rt: Runtime) -> None:
    # GIVEN the local backend's simulated bill, which includes the dashboard's own stack
    # WHEN an admin of every app opens the Costs page's view
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=TODAY)
    # THEN its stack is a row of its own, costing the cost table's 50-user month
    own = next(a for a in view.apps if a.key == OWN_STACK)
    assert own.label == OWN_STACK_LABEL and own.month_forecast is None
    expected = sum(sim_costs.OWN_STACK_MONTHLY_USD.values()) * 30 / sim_costs.DAYS_PER_MONTH
    assert own.last_month == pytest.approx(expected, rel=0.03)  # November: 30 days
    assert [a.key for a in view.apps][-2:] == [OWN_STACK, "(untagged)"]
    assert view.total.last_month == pytest.approx(sum(a.last_month for a in view.apps))


def test_a_viewer_never_sees_it(fixed_rt: Runtime) -> None:
    # GIVEN a viewer of jobseek
    access.set_principal(Principal("v", "viewer", frozenset({"jobseek"})))
    # WHEN the view is built THEN only their app is in it
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=TODAY)
    assert [a.key for a in view.apps] == ["jobseek"]
    assert OWN_STACK not in set(view.daily["app"])


def test_cost_explorers_rows_of_the_tag_become_that_row(fixed_rt: Runtime) -> None:
    # GIVEN GetCostAndUsage groups as the aws source parses them
    page = ce_page([("2026-11-01", [("Amazon Elastic Container Service", OWN_STACK_TAG, 1.2),
                                    ("AWS Lambda", "jobseek", 4.5)])])
    groups = page["ResultsByTime"][0]["Groups"]
    frame = pd.DataFrame([{"start": date(2026, 11, 1), "service": g["Keys"][0],
                           "tag": g["Keys"][1].partition("$")[2],
                           "amount": float(g["Metrics"]["UnblendedCost"]["Amount"]),
                           "estimated": False} for g in groups])
    # WHEN they are labelled for an admin, and for a viewer
    admin = label_and_filter(frame, fixed_rt.catalog)
    access.set_principal(Principal("v", "viewer", frozenset({"jobseek"})))
    viewer = label_and_filter(frame, fixed_rt.catalog)
    # THEN the dashboard's spend carries its own key for the admin and is hidden otherwise
    assert list(admin["app"]) == [OWN_STACK, "jobseek"]
    assert list(viewer["app"]) == ["jobseek"]


def test_own_api_spend_is_the_whole_fleets_with_a_shared_tier(
        fixed_rt: Runtime, redis_server: RedisServer) -> None:
    # GIVEN two tasks counting their calls into one tier
    from tests.core.test_cache_contract import make_tier

    namespace = f"spend-{uuid.uuid4().hex[:8]}"
    tasks = [QueryCache(tier=make_tier(redis_server.url, namespace)) for _ in range(2)]
    for cache in tasks:
        for _ in range(3):
            cache.count_aws_call("ce.GetCostAndUsage")
    rt = replace(fixed_rt, cache=tasks[0])
    # WHEN one task prices its spend
    spend = own_spend.own_spend(rt, now=2_000_000_000.0)
    # THEN it prices every task's calls, since the tier first counted one
    assert spend.scope == "every task"
    assert [(p.api, p.calls) for p in spend.lines] == [("ce.GetCostAndUsage", 6)]
    assert spend.total_usd == pytest.approx(0.06)
    assert spend.since <= 2_000_000_000.0


def test_the_costs_page_shows_it_next_to_its_api_spend(installed_runtime: Runtime) -> None:
    from tests.helpers import signed_in_app

    # GIVEN an admin WHEN the Costs page is drawn
    at = signed_in_app("app_pages/costs.py").run()
    # THEN the stack has its metric tile beside the apps, and a line beside the own API spend
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.label.startswith(f"{OWN_STACK_LABEL}: month to date") for m in at.metric)
    assert any(c.value.startswith("Its stack (resources tagged Application=central-analytics)")
               for c in at.caption)
