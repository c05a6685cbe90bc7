"""The page frame Home.py draws around every page: stale banner on top, errors, the footer."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page() -> None:
    """A page inside the frame; ``mode`` (session state) picks what its service answered."""
    from types import SimpleNamespace

    import streamlit as st

    from analytics.core.cache import Cached, QueryCache, UpstreamError
    from analytics.ui.frame import freshness, page_frame

    rt = SimpleNamespace(cache=QueryCache(), sources=SimpleNamespace(description="fake (test)"),
                         clock=lambda: 1_700_000_600.0)
    mode = st.session_state.get("mode")
    with page_frame(rt):  # type: ignore[arg-type]  # a stand-in with the attributes used
        st.title("A page")
        if mode == "stale":
            stale = Cached(1, 1_700_000_000.0, stale=True, error="TimeoutError: read timed out")
            freshness(stale)
            freshness(stale)  # a second chart from the same failed refresh
            freshness(Cached(2, 1_700_000_300.0))
            freshness(Cached(3, 1_700_000_200.0))
        elif mode == "down":
            raise UpstreamError("metrics query failed and no earlier value is cached")
        st.write("drawn after the data")


def _run(mode: str) -> AppTest:
    at = AppTest.from_function(_page, default_timeout=30)
    at.session_state["mode"] = mode
    return at.run()


def test_a_stale_value_is_one_warning_above_the_page_and_fresh_ones_date_the_footer() -> None:
    # GIVEN a page that drew one stale value twice and two fresh ones
    # WHEN it runs inside the frame
    at = _run("stale")
    # THEN the failure is told once, above the title, and the footer says "as of" the oldest
    assert not at.exception
    assert len(at.warning) == 1 and "read timed out" in at.warning[0].value
    assert "Showing cached data as of 2023-11-14 22:13:20 UTC" in at.warning[0].value
    assert at.caption[0].value == "Data as of 2023-11-14 22:16:40 UTC"
    assert "fake (test)" in at.caption[-1].value


def test_a_source_down_with_nothing_cached_is_a_message_and_the_footer_still_shows() -> None:
    # GIVEN a page whose service raises UpstreamError (nothing cached to fall back on)
    # WHEN it runs inside the frame
    at = _run("down")
    # THEN the page ends with a clear message instead of a traceback, and the footer is drawn
    assert not at.exception
    assert "did not answer and nothing is cached yet" in at.error[0].value
    assert not any(m.value == "drawn after the data" for m in at.markdown)
    assert "fake (test)" in at.caption[-1].value
