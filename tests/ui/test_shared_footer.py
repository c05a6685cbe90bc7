"""The footer's note on the shared cache tier: the fleet's calls when it is up, one short line
(never a traceback, never a wait) when it is not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from analytics.core.cache import QueryCache
from analytics.core.tier import RedisTier, redis_client
from analytics.sources import Runtime
from analytics.ui.frame import shared_note
from tests.helpers import signed_in_app
from tests.redis_server import free_port


def test_the_note_names_the_fleets_calls_or_the_outage() -> None:
    # GIVEN snapshots without a tier, with one up, and with one down
    up = {"tier": "up", "l2_hits": 7, "l2_misses": 2,
          "fleet": {"aws_calls|ce.GetCostAndUsage": 3, "aws_calls|cloudwatch.GetMetricData": 4,
                    "aws_units|cloudwatch.GetMetricData": 40}}
    down = {"tier": "down (ConnectionError: refused)", "l2_hits": 0, "l2_misses": 0}
    # WHEN the footer words them THEN
    assert shared_note({"hits": 1}) == ""
    assert shared_note(up) == (" · shared cache: hits 7, misses 2 · AWS API calls, whole "
                               "fleet: 7")
    assert shared_note(down) == " · shared cache unreachable: this task serves from its own cache"


@pytest.fixture
def tier_down(installed_runtime: Runtime) -> Iterator[Runtime]:
    """The suite's local runtime with a tier at an address where nothing listens."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    plain = installed_runtime.cache
    installed_runtime.cache = QueryCache(tier=RedisTier(
        redis_client(url, timeout_s=0.25, connect_timeout_s=0.25), namespace="gone",
        description=url))
    try:
        yield installed_runtime
    finally:
        installed_runtime.cache = plain


def test_a_page_with_its_tier_down_draws_and_says_so(tier_down: Runtime) -> None:
    # GIVEN a shared tier that cannot be reached
    # WHEN the Overview is opened
    at = signed_in_app("app_pages/overview.py").run()
    # THEN it draws from this process, and the footer carries the one-line note
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert any("shared cache unreachable" in c.value for c in at.caption)
    assert tier_down.cache.snapshot()["upstream_calls"], "loaded here instead"
