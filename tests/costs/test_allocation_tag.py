"""The Costs page says when the ``Application`` tag is not an active cost-allocation tag: Cost
Explorer then groups nothing by it, every app reads $0 and all spend is "Untagged"."""

from __future__ import annotations

from datetime import date

import pytest
from botocore.stub import Stubber

from analytics.costs import service as costs
from analytics.sources import Runtime
from tests.costs.conftest import ce_page

TODAY = date(2026, 11, 20)


def _tag_answer(stub: Stubber, status: str | None) -> None:
    tags = [] if status is None else [{"TagKey": "Application", "Type": "UserDefined",
                                       "Status": status, "LastUpdatedDate": "2026-11-01T00:00:00Z"}]
    stub.add_response("list_cost_allocation_tags", {"CostAllocationTags": tags},
                      {"TagKeys": ["Application"], "Type": "UserDefined"})


@pytest.mark.parametrize(("status", "says"), [
    ("Inactive", "is not an active cost-allocation tag"),
    (None, "has never been seen as a cost-allocation tag"),
    ("Active", None),
])
def test_the_costs_view_says_whether_costs_can_be_split_by_app(
        aws_rt: tuple[Runtime, Stubber], status: str | None, says: str | None) -> None:
    # GIVEN Cost Explorer's costs (all untagged, as an inactive tag makes them) and the tag's
    # status as ListCostAllocationTags answers it
    rt, stub = aws_rt
    stub.add_response("get_cost_and_usage", ce_page(
        [("2026-11-02", [("AWS Lambda", "", 12.5)])]), None)
    _tag_answer(stub, status)
    # WHEN the Costs page's view is built (forecasts and anomalies are not queued: notes)
    view = costs.cost_view(rt, rt.catalog.apps, today=TODAY)
    # THEN an inactive or unknown tag is the first note, with how to activate it
    if says is None:
        assert not any("cost-allocation tag" in n for n in view.notes)
    else:
        assert says in view.notes[0] and "Billing → Cost allocation tags" in view.notes[0]
    assert rt.cache.snapshot()["aws_calls"]["ce.ListCostAllocationTags"] == 1


def test_an_unreadable_status_is_said_too(aws_rt: tuple[Runtime, Stubber]) -> None:
    # GIVEN a role without ce:ListCostAllocationTags
    rt, stub = aws_rt
    stub.add_response("get_cost_and_usage", ce_page([]), None)
    stub.add_client_error("list_cost_allocation_tags", "AccessDeniedException", "no", 400)
    # WHEN the view is built
    view = costs.cost_view(rt, rt.catalog.apps, today=TODAY)
    # THEN the page says it could not tell, and why
    assert view.notes[0].startswith("Could not tell whether `Application` is an active")
    assert "AccessDeniedException" in view.notes[0]


def test_the_local_backend_reports_an_active_tag(fixed_rt: Runtime) -> None:
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=date(2026, 11, 20))
    assert not any("cost-allocation tag" in n for n in view.notes)
