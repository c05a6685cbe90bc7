"""A hung endpoint (accepts the connection, never answers) costs a page view its deadline, not
minutes: the page says "still loading / timed out", the footer is drawn, and the next view of
the same data does not wait again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime, set_runtime
from tests.conftest import frozen_clock
from tests.fake_endpoint import ScriptedEndpoint
from tests.helpers import signed_in_app


@pytest.fixture
def hung_runtime() -> Iterator[tuple[Runtime, ScriptedEndpoint]]:
    with ScriptedEndpoint(hang=True) as endpoint:
        settings = load_settings({
            "ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint.url, "ANALYTICS_PAGE_DEADLINE_S": "1",
            "AWS_CONNECT_TIMEOUT": "1", "AWS_READ_TIMEOUT": "30", "AWS_MAX_ATTEMPTS": "1",
        }, secrets={})
        clock = frozen_clock()
        rt = build_runtime(settings, cache=QueryCache(clock=clock), clock=clock)
        set_runtime(rt)
        try:
            yield rt, endpoint
        finally:
            set_runtime(None)


def test_a_hung_endpoint_is_still_loading_within_the_deadline(hung_runtime) -> None:
    rt, endpoint = hung_runtime
    # WHEN the Overview is opened while CloudWatch never answers
    at = signed_in_app("app_pages/overview.py").run()
    # THEN the page says so instead of waiting, and the frame (footer) is drawn
    assert not at.exception, [e.value for e in at.exception]
    assert any(i.value.startswith("Still loading / timed out") for i in at.info)
    assert any("Backend: **aws" in c.value for c in at.caption)
    assert endpoint.requests, "the page did ask CloudWatch"
    first = rt.cache.snapshot()
    assert first["late"] >= 1 and "metrics" in first["down"]
    # AND the next view joins the load already running instead of starting (and awaiting) one
    again = signed_in_app("app_pages/overview.py").run()
    assert any(i.value.startswith("Still loading / timed out") for i in again.info)
    second = rt.cache.snapshot()
    assert second["upstream_calls"].get("metrics") == first["upstream_calls"].get("metrics")
