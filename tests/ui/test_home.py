"""AppTest of the entrypoint on the local backend."""

from __future__ import annotations

from tests.helpers import signed_in_app


def test_home_lands_on_overview_with_a_tile_row_per_app(installed_runtime) -> None:
    at = signed_in_app(timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert [s.value for s in at.subheader] == ["iLikeYaCut", "JobSeek"]
    labels = [m.label for m in at.metric]
    assert labels.count("Requests") == 2 and labels.count("p95 latency") == 2
    requests = [m for m in at.metric if m.label == "Requests"]
    assert all(m.value not in ("n/a", "0") for m in requests)
    footer = at.caption[-1].value
    assert "Backend: **local" in footer


def test_app_and_range_come_from_the_url(installed_runtime) -> None:
    at = signed_in_app(query={"app": "jobseek", "range": "24h"}, timeout=60).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["JobSeek"]
    assert "Last 24 hours" in at.caption[0].value and "10-minute buckets" in at.caption[0].value
    assert at.query_params["app"] == ["jobseek"] or at.query_params["app"] == "jobseek"


def test_second_view_is_served_from_cache(installed_runtime) -> None:
    at = signed_in_app(timeout=60).run()
    before = installed_runtime.cache.snapshot()["upstream_calls"].get("metrics", 0)
    at.run()
    after = installed_runtime.cache.snapshot()["upstream_calls"].get("metrics", 0)
    assert before == 1 and after == 1


def test_stale_banner_when_refresh_fails(installed_runtime, monkeypatch) -> None:
    at = signed_in_app(timeout=60).run()
    # expire every entry, then make the backend fail
    for entry in installed_runtime.cache._entries.values():
        entry.expires_at = 0
    def boom(*a, **k):
        raise ConnectionError("CloudWatch endpoint timed out")
    monkeypatch.setattr(installed_runtime.sources.metrics, "get_metric_data", boom)
    at.run()
    assert not at.exception
    assert any("latest refresh failed" in w.value and "timed out" in w.value for w in at.warning)
    assert len(at.metric) == 10  # the stale numbers are still shown


def test_url_cannot_reveal_an_app_outside_the_users_apps(installed_runtime) -> None:
    at = signed_in_app(apps=["jobseek"], username="js-viewer", role="viewer",
                       query={"app": "ilikeyacut"}).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["JobSeek"]
