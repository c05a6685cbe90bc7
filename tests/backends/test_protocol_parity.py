"""Both backends answer every query a page can make, with the same parameters.

The concern protocols live next to their data-layer modules; this checks that ``aws`` and
``local`` implement each of them identically, so a page never learns which backend is live.
"""

from __future__ import annotations

import inspect

import pytest

from analytics.alarms import AlarmsBackend
from analytics.backends.aws import AwsBackend
from analytics.backends.base import Backend
from analytics.backends.local import LocalBackend
from analytics.coldstarts import ColdStartSource
from analytics.custom_metrics import CustomMetricsSource

COST_METHODS = ("get_cost_and_usage", "get_cost_forecast", "get_cost_anomalies")
PROTOCOL_METHODS = sorted({
    name
    for proto in (Backend, AlarmsBackend, ColdStartSource, CustomMetricsSource)
    for name, _ in inspect.getmembers(proto, inspect.isfunction) if not name.startswith("_")
} | set(COST_METHODS) | {"discover_resources"})


def _params(cls: type, name: str) -> list[tuple[str, object]]:
    sig = inspect.signature(getattr(cls, name))
    return [(p.name, p.kind) for p in sig.parameters.values() if p.name != "now"]


def test_the_protocols_cover_every_concern() -> None:
    assert {"get_metric_data", "alarm_infos", "cold_starts", "custom_metric_stats",
            "get_cost_forecast", "discover_resources"} <= set(PROTOCOL_METHODS)


@pytest.mark.parametrize("name", PROTOCOL_METHODS)
def test_both_backends_implement_it_with_the_same_parameters(name: str) -> None:
    assert callable(getattr(AwsBackend, name, None)), f"aws lacks {name}"
    assert callable(getattr(LocalBackend, name, None)), f"local lacks {name}"
    assert _params(AwsBackend, name) == _params(LocalBackend, name)
