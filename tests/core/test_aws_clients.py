"""The client factory against a real socket: every attempt counted and priced, the User-Agent
tagged for CloudTrail, undeclared operations refused, page reads timing out sooner."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.core.aws_clients import USER_AGENT_EXTRA, AwsClients, package_version
from analytics.core.cache import QueryCache
from analytics.core.permissions import UndeclaredAwsCall
from analytics.core.settings import load_settings
from analytics.costs import own_spend
from analytics.costs.aws import AwsCosts
from tests.fake_endpoint import ScriptedEndpoint

EMPTY_COSTS = {"ResultsByTime": [], "GroupDefinitions": []}
TAG_ACTIVE = {"CostAllocationTags": [{"TagKey": "Application", "Type": "UserDefined",
                                      "Status": "Active"}]}
FAILURE = {"__type": "InternalServerException", "message": "try again"}


def _clients(url: str, **env: str) -> AwsClients:
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1",
                              "AWS_ENDPOINT_URL": url, **env}, secrets={})
    return AwsClients(settings, QueryCache())


def test_every_retry_is_counted_and_priced_like_a_call() -> None:
    # GIVEN Cost Explorer failing twice with a 500 before answering (standard mode retries)
    replies = [(500, FAILURE), (500, FAILURE), (200, EMPTY_COSTS), (200, TAG_ACTIVE)]
    with ScriptedEndpoint(replies) as endpoint:
        clients = _clients(endpoint.url)
        # WHEN one logical GetCostAndUsage is made (plus the tag status it reads)
        AwsCosts(clients=clients).get_cost_and_usage(date(2026, 11, 1), date(2026, 11, 3))
    # THEN three attempts reached AWS, one call and two retries are counted
    assert len(endpoint.requests) == 4
    snap = clients.cache.snapshot()
    assert snap["aws_calls"]["ce.GetCostAndUsage"] == 1
    assert snap["aws_retries"] == {"ce.GetCostAndUsage": 2}
    # AND each attempt is priced ($0.01 per Cost Explorer request)
    rt = type("Rt", (), {"cache": clients.cache,
                         "sources": type("S", (), {"backend": "aws"})()})()
    lines = {p.api: p for p in own_spend.own_spend(rt, now=1.0, since=0.0).lines}
    assert lines["ce.GetCostAndUsage"].retries == 2
    assert lines["ce.GetCostAndUsage"].usd == pytest.approx(0.03)
    assert lines["ce.ListCostAllocationTags"].usd == pytest.approx(0.01)


def test_the_user_agent_names_the_dashboard_and_its_version() -> None:
    # GIVEN the factory's clients
    with ScriptedEndpoint([(200, TAG_ACTIVE)]) as endpoint:
        # WHEN any call is made
        AwsCosts(clients=_clients(endpoint.url)).cost_allocation_tag_status("Application")
    # THEN CloudTrail's userAgent field can find it
    agent = endpoint.requests[0]["headers"]["User-Agent"]
    assert USER_AGENT_EXTRA == f"central-analytics/{package_version()}" in agent
    assert package_version() == "0.1.0"


def test_an_operation_missing_from_the_permissions_table_is_refused_before_sending() -> None:
    # GIVEN an operation no role of the stack grants (it is not declared)
    with ScriptedEndpoint() as endpoint:
        clients = _clients(endpoint.url)
        # WHEN code calls it
        with pytest.raises(UndeclaredAwsCall, match=r"ce\.GetReservationUtilization is not "
                                                    r"declared in analytics/core/permissions"):
            clients.client("ce").get_reservation_utilization(
                TimePeriod={"Start": "2026-11-01", "End": "2026-11-02"})
    # THEN nothing reached AWS
    assert endpoint.requests == []


def test_page_reads_time_out_sooner_than_background_work() -> None:
    clients = _clients("http://127.0.0.1:9", AWS_READ_TIMEOUT="6",
                       AWS_BACKGROUND_READ_TIMEOUT="45")
    background = AwsClients(clients.settings, QueryCache(), background=True)
    assert clients.client("cloudwatch").meta.config.read_timeout == 6.0
    assert background.client("cloudwatch").meta.config.read_timeout == 45.0
    assert background.client("cloudwatch").meta.config.retries["mode"] == "standard"


def test_the_version_comes_from_pyproject_in_the_container(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    # GIVEN the container image, which copies the code and pyproject.toml but installs nothing
    from importlib.metadata import PackageNotFoundError

    from analytics.core import aws_clients

    def not_installed(_: str) -> str:
        raise PackageNotFoundError("central-analytics")

    monkeypatch.setattr(aws_clients, "version", not_installed)
    # WHEN the User-Agent's version is read, THEN it is pyproject's
    assert aws_clients.package_version() == "0.1.0"
