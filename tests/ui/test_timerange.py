"""The time-range picker: presets and custom ranges round-trip through the URL."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import NOW
from tests.helpers import signed_in_app


def test_custom_range_from_the_url(installed_runtime) -> None:
    now = NOW
    end = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0) \
        - timedelta(hours=2)
    start = end - timedelta(hours=6)
    at = signed_in_app(query={"range": "custom", "from": start.isoformat(),
                              "to": end.isoformat()}).run()
    assert not at.exception
    caption = at.caption[0].value
    assert f"{start:%Y-%m-%d %H:%M}" in caption and f"{end:%H:%M}" in caption
    assert "5-minute buckets" in caption  # 12 h with the previous window: 144 points
    assert at.query_params["range"] in (["custom"], "custom")


def test_unknown_preset_falls_back_to_default(installed_runtime) -> None:
    at = signed_in_app(query={"range": "forever"}).run()
    assert not at.exception
    assert "Last 3 hours" in at.caption[0].value


def test_switching_preset_updates_the_url(installed_runtime) -> None:
    at = signed_in_app().run()
    at.selectbox(key="range_preset").set_value("7d").run()
    assert not at.exception
    assert "Last 7 days" in at.caption[0].value and "1-hour buckets" in at.caption[0].value
    assert at.query_params["range"] in (["7d"], "7d")
