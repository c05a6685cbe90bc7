"""Cardinality caps: a batch that would pass an app's cap on names or dimension sets is refused
whole (422 naming the cap), and a flood that got in anyway cannot make Realtime slow.

Before, 4,000 distinct dimension sets made jobseek's Realtime page 4,119 lines (7.1 s a
refresh) and 300 new names made 306 charts; on AWS each is also a billed custom metric.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.core.cache import QueryCache
from analytics.core.catalog import Catalog, load_catalog
from analytics.core.settings import load_settings
from analytics.realtime.service import MAX_CHARTS, MAX_SERIES, realtime_view
from analytics.sources import Runtime, local_sources
from ingest.guard import Caps, MemoryRegistry
from tests.conftest import ROOT, frozen_clock, local_env
from tests.custom.conftest import http_post
from tests.security.conftest import Endpoint, point, start_endpoint

CATALOG = load_catalog(ROOT / "apps.toml")


def _with_caps(**caps: int) -> Catalog:
    apps = tuple(a.model_copy(update=caps) for a in CATALOG.apps)
    return CATALOG.model_copy(update={"apps": apps})


def _post_dims(ep: Endpoint, n: int, *, name: str = "Signups") -> list[tuple[int, dict]]:
    """``n`` distinct dimension sets of one metric, 100 per batch."""
    answers = []
    for start in range(0, n, 100):
        batch = [point(name=name, dimensions=[{"name": "Visitor", "value": f"v{i}"}])
                 for i in range(start, min(n, start + 100))]
        answers.append(http_post(ep.server.url, {"metrics": batch}, ep.tokens["jobseek"]))
    return answers


def _distinct(ep: Endpoint, column: str) -> int:
    row = ep.store.cursor().execute(
        f"SELECT count(DISTINCT {column}) FROM custom_metrics WHERE app = 'jobseek'").fetchone()
    return int(row[0])


def test_4000_dimension_sets_stop_at_the_cap_with_a_422_naming_it(endpoint: Endpoint) -> None:
    # WHEN jobseek's token sends 4,000 distinct dimension sets of one metric
    answers = _post_dims(endpoint, 4_000)
    # THEN the first 100 are stored, every later batch is refused whole, naming the cap
    assert answers[0] == (202, {"accepted": 100})
    for status, body in answers[1:]:
        assert status == 422 and body["cap"] == "max_dimension_sets" and body["limit"] == 100
        assert "max_dimension_sets=100" in body["errors"][0]["message"]
        assert body["errors"][0]["field"] == "dimensions"
    assert _distinct(endpoint, "dims") == 100
    # ... and a known dimension set still gets through
    again = point(dimensions=[{"name": "Visitor", "value": "v7"}])
    assert http_post(endpoint.server.url, again, endpoint.tokens["jobseek"])[0] == 202


def test_300_new_names_stop_at_200_with_a_422_naming_the_cap(endpoint: Endpoint) -> None:
    answers = [http_post(endpoint.server.url, {"metrics": [point(name=f"M{i}-{j}")
                                                          for j in range(50)]},
                         endpoint.tokens["jobseek"]) for i in range(6)]
    assert [a[0] for a in answers] == [202, 202, 202, 202, 422, 422]
    assert answers[4][1]["cap"] == "max_metric_names"
    assert "would make 250 distinct metric names" in answers[4][1]["errors"][0]["message"]
    assert _distinct(endpoint, "metric_name") == 200


def test_the_caps_come_from_the_catalog(tmp_path: Path) -> None:
    ep = start_endpoint(tmp_path, _with_caps(max_metric_names=3, max_dimension_sets=2))
    try:
        got = [http_post(ep.server.url, point(name=f"N{i}"), ep.tokens["jobseek"])[0]
               for i in range(4)]
        dims = _post_dims(ep, 3, name="N0")
    finally:
        ep.server.stop()
        ep.store.close()
    assert got == [202, 202, 202, 422]
    assert dims[0][0] == 422 and dims[0][1]["limit"] == 2


def test_series_older_than_the_retention_window_no_longer_count() -> None:
    reg = MemoryRegistry()
    caps = {"jobseek": Caps(max_names=2, max_dimension_sets=5)}
    day = 86_400_000
    assert reg.admit({"jobseek": {"A": frozenset({""}), "B": frozenset({""})}}, caps=caps,
                     now_ms=0, window_ms=90 * day) is None
    assert reg.admit({"jobseek": {"C": frozenset({""})}}, caps=caps, now_ms=day,
                     window_ms=90 * day) is not None
    assert reg.admit({"jobseek": {"C": frozenset({""})}}, caps=caps, now_ms=91 * day,
                     window_ms=90 * day) is None


# -- a flood that is already stored (sent before the caps, or under caps raised by hand) ---------
@pytest.fixture
def flooded(tmp_path: Path, local_runtime: Runtime) -> Iterator[Runtime]:
    clock = frozen_clock()
    ep = start_endpoint(tmp_path, _with_caps(max_metric_names=1_000, max_dimension_sets=5_000),
                        clock=clock)
    try:
        assert all(a[0] == 202 for a in _post_dims(ep, 4_000))
        for i in range(3):
            batch = [point(name=f"Flood{i:02d}{j:03d}") for j in range(100)]
            assert http_post(ep.server.url, {"metrics": batch}, ep.tokens["jobseek"])[0] == 202
    finally:
        ep.server.stop()
    settings = load_settings(local_env(tmp_path), secrets={})
    yield Runtime(settings, CATALOG, local_sources(store=ep.store, clock=clock),
                  QueryCache(clock=clock), clock=clock)
    ep.store.close()


def test_a_flood_draws_at_most_the_busiest_charts_and_lines(flooded: Runtime) -> None:
    # WHEN Realtime reads jobseek after 4,000 dimension sets and 300 new names
    view = realtime_view(flooded, "jobseek")
    # THEN it draws at most 12 custom charts of at most 8 lines, the rest one choice away
    assert len(view.custom) <= MAX_CHARTS and len(view.hidden_metrics) >= 300 - MAX_CHARTS
    assert all(len(p.lines) <= MAX_SERIES for p in view.custom)
    signups = next(p for p in view.custom if p.key == "custom:Signups")
    assert signups.hidden_series == 4_000 - MAX_SERIES
    # ... and a filter or a pick brings any of them back
    picked = realtime_view(flooded, "jobseek", more=["Flood02099"], dims_filter="Visitor=v3999")
    assert "custom:Flood02099" in [p.key for p in picked.custom]
    assert list(next(p for p in picked.custom if p.key == "custom:Signups").lines) == [
        "Visitor=v3999"]
