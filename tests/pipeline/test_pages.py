"""AppTest of the pages the pipeline touches: Overview's long ranges, the Costs page's history
and packs, and the admin-only Pipeline page."""

from __future__ import annotations

from datetime import date

from analytics.auth.pages import pages_for
from analytics.core.access import Principal
from analytics.sources import Runtime
from tests.helpers import signed_in_app


def test_the_overview_long_range_says_where_each_part_comes_from(
        installed_runtime: Runtime) -> None:
    # GIVEN the local store (two days of history, no rollups needed)
    # WHEN the Overview is opened on the 90-day range
    at = signed_in_app("app_pages/overview.py", query={"range": "90d"}).run()
    # THEN the tiles are drawn and each app says which days came from where
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="range_preset").value == "90d"
    assert "Last 90 days" in at.caption[0].value and "24-hour buckets" in at.caption[0].value
    sources = [c.value for c in at.caption if c.value.startswith("Days from")]
    assert len(sources) == len(installed_runtime.catalog.apps)
    assert all("CloudWatch (local twin)" in s and "no data" in s for s in sources)
    assert any(m.label == "p95 latency" for m in at.metric)


def test_pages_without_stitching_do_not_offer_the_long_ranges(installed_runtime: Runtime) -> None:
    # GIVEN a deep link with a long range to a page that cannot stitch
    at = signed_in_app("app_pages/performance.py", query={"range": "1y"}).run()
    # THEN it falls back to its default range instead of failing
    assert not at.exception, [e.value for e in at.exception]
    options = at.selectbox(key="range_preset").options
    assert "Last year" not in options and at.selectbox(key="range_preset").value == "3h"


def test_the_costs_page_shows_the_long_history_and_the_packs_to_admins(
        installed_runtime: Runtime) -> None:
    # GIVEN an admin of every app
    at = signed_in_app("app_pages/costs.py").run()
    # THEN the long-term history is drawn with its sources, and the packs section is there
    assert not at.exception, [e.value for e in at.exception]
    heads = [h.value for h in at.subheader]
    assert "Long-term history" in heads and "Delivered packs" in heads
    assert any("Cost Explorer (local twin)" in c.value for c in at.caption)
    names = [b.proto.label for b in at.get("download_button")]
    assert "CSV: Cost history" in names


def test_viewers_get_the_history_but_neither_the_packs_nor_the_pipeline_page(
        installed_runtime: Runtime) -> None:
    # GIVEN a viewer of jobseek
    at = signed_in_app("app_pages/costs.py", username="js", role="viewer",
                       apps=["jobseek"]).run()
    # THEN the history shows only their app, no unassigned spend and no packs
    assert not at.exception, [e.value for e in at.exception]
    heads = [h.value for h in at.subheader]
    assert "Long-term history" in heads and "Delivered packs" not in heads
    assert not any("Unassigned" in c.value or "iLikeYaCut" in c.value for c in at.caption)
    # AND the Pipeline page is not in their navigation
    assert "app_pages/pipeline.py" not in [
        p.path for p in pages_for(Principal("js", "viewer", frozenset({"jobseek"})))]
    assert "app_pages/pipeline.py" in [p.path for p in pages_for(Principal("ada", "admin"))]


def test_the_pipeline_page_lists_runs_and_refuses_a_reversed_backfill(
        installed_runtime: Runtime) -> None:
    # GIVEN an admin on the Pipeline page
    at = signed_in_app("app_pages/pipeline.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Pipeline"
    # WHEN they ask for a backfill that ends before it starts
    at.date_input(key="backfill_from").set_value(date(2026, 1, 10))
    at.date_input(key="backfill_to").set_value(date(2026, 1, 5))
    at.button(key="FormSubmitter:backfill-Start backfill").click().run()
    # THEN they get the reason and nothing starts
    assert not at.exception, [e.value for e in at.exception]
    assert any("before it starts" in e.value for e in at.error)
