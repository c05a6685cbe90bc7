"""Fixtures of the cost tests: an aws runtime whose Cost Explorer client is stubbed, and a local
runtime over a fixed window of simulated cost items (so "today" can be injected freely)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from botocore.stub import Stubber

from analytics.core import access
from analytics.core.cache import QueryCache
from analytics.core.catalog import load_catalog
from analytics.core.settings import load_settings
from analytics.local import sim_costs
from analytics.local.store import LocalStore
from analytics.sources import Runtime, build_runtime, local_sources
from tests.conftest import frozen_clock

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
#: The fixed store holds every day of this window (so Sep/Oct/Nov/Dec 2026 are complete).
FIXED_FIRST, FIXED_UNTIL = date(2026, 9, 1), date(2027, 1, 2)


@pytest.fixture(autouse=True)
def _no_principal() -> Iterator[None]:
    """Each test starts as a trusted caller; tests that need a user bind one themselves."""
    access.set_principal(None)
    yield
    access.set_principal(None)


@pytest.fixture
def aws_rt() -> Iterator[tuple[Runtime, Stubber]]:
    """An aws runtime (region eu-west-1, to prove ce is pinned to us-east-1) with a Stubber on
    its Cost Explorer client: every CE call must have been queued, or the test fails."""
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "eu-west-1"},
                             secrets={})
    clock = frozen_clock()
    cache = QueryCache(clock=clock)
    rt = build_runtime(settings, cache=cache, catalog=load_catalog(ROOT / "apps.toml"),
                       clock=clock)
    ce = rt.sources.costs.clients.client("ce")
    with Stubber(ce) as stub:
        yield rt, stub


@pytest.fixture(scope="session")
def fixed_store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("fixed-costs") / "costs.duckdb")
    sim_costs.write_days(
        store, load_catalog(ROOT / "apps.toml"), seed=SEED, first=FIXED_FIRST, until=FIXED_UNTIL
    )
    return store


@pytest.fixture
def fixed_rt(fixed_store: LocalStore) -> Runtime:
    """A local runtime over the fixed cost window, with an empty cache of its own, on the
    frozen clock (NOW is inside the window)."""
    settings = load_settings({"ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": "/tmp/unused"},
                             secrets={})
    clock = frozen_clock()
    return Runtime(settings, load_catalog(ROOT / "apps.toml"),
                   local_sources(store=fixed_store, clock=clock), QueryCache(clock=clock),
                   clock=clock)


def ce_page(days: list[tuple[str, list[tuple[str, str, float]]]], token: str | None = None,
            metric: str = "UnblendedCost") -> dict:
    """A GetCostAndUsage response page: per day, (service, tag, amount) groups."""
    page: dict = {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"},
                             {"Type": "TAG", "Key": "Application"}],
        "ResultsByTime": [{
            "TimePeriod": {"Start": d, "End": d}, "Total": {}, "Estimated": False,
            "Groups": [{"Keys": [svc, f"Application${tag}"],
                        "Metrics": {metric: {"Amount": str(amount), "Unit": "USD"}}}
                       for svc, tag, amount in groups],
        } for d, groups in days],
    }
    if token:
        page["NextPageToken"] = token
    return page


def forecast_response(mean: float, low: float, high: float, start: str, end: str) -> dict:
    return {"Total": {"Amount": str(mean), "Unit": "USD"},
            "ForecastResultsByTime": [{"TimePeriod": {"Start": start, "End": end},
                                       "MeanValue": str(mean),
                                       "PredictionIntervalLowerBound": str(low),
                                       "PredictionIntervalUpperBound": str(high)}]}
