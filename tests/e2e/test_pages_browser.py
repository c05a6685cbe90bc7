"""In a real browser: what plotly draws agrees with the captions, in the viewer's time zone.

AppTest sees the figure's JSON; only a browser shows how plotly.js reads it (a time given as a
number is drawn in the browser's own zone, whatever the page meant), so this is checked here.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import Server
from tests.e2e.test_login_browser import TIMEOUT_MS, _settle, _sign_in

pytestmark = pytest.mark.browser


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_chart_times_are_the_captions_times_in_the_viewers_zone(
        server: Server, browser: Browser, zone: str) -> None:
    # GIVEN a viewer whose browser is in another zone than the server's UTC
    ctx = browser.new_context(timezone_id=zone, viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/performance?range=3h&open=api")
        _sign_in(page, "alice", server.passwords["alice"])
        # WHEN the Performance page has drawn its first chart
        chart = page.locator('[data-testid="stPlotlyChart"] .main-svg').first
        chart.wait_for(timeout=TIMEOUT_MS)
        _settle(page)
        caption = page.get_by_text(re.compile(r"^Last 3 hours · ")).first.inner_text()
        # THEN the caption names the zone and the axis spans the same clock times, not times
        # shifted by the zone's offset
        m = re.search(r"(\d{2}:\d{2}) → (\d{2}:\d{2}) (\S+)", caption)
        assert m is not None and m.group(3) == zone, caption
        start, end = _minutes(m.group(1)), _minutes(m.group(2))
        ticks = [t for t in page.locator('[data-testid="stPlotlyChart"]').first
                 .locator(".xaxislayer-above text").all_text_contents()
                 if re.match(r"\d{2}:\d{2}", t)]
        assert ticks, "the chart should label its time axis"
        for tick in ticks:
            t = _minutes(tick[:5])
            span = (end - start) % 1440
            assert (t - start) % 1440 <= span, (tick, caption)
    finally:
        ctx.close()
