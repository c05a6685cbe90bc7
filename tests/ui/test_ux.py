"""What a viewer reads on each page, checked through Home.py (AppTest, signed in, frozen clock).

One test per defect found by using the dashboard as a new user would: ranges from a link, the
"vs previous" deltas, chart axes, colours and daily points, table headers and formats, the
alarm page's single range, the costs charts, the viewer's time zone on every caption, and
icons that render without an emoji font.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from analytics.alarms import service as alarms
from analytics.core.periods import PeriodError, make_range, preset_range
from analytics.sources import Runtime
from tests.alarms import conftest as alarm_fixtures
from tests.alarms.conftest import ALWAYS_FIRING
from tests.conftest import NOW
from tests.helpers import signed_in_app
from tests.performance.conftest import spec_points

firing_catalog = alarm_fixtures.firing_catalog  # the Alarms suite's runtime with a firing alarm
firing_runtime = alarm_fixtures.firing_runtime
PAGES = ["app_pages/overview.py", "app_pages/performance.py", "app_pages/realtime.py",
         "app_pages/alarms.py", "app_pages/costs.py"]
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")
CLOCK_TIME = re.compile(r"\b\d{2}:\d{2}\b")


def specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def texts(at: AppTest) -> list[str]:
    """Every text a viewer reads: titles, captions, messages, metric labels and deltas."""
    out = [e.value for kind in (at.title, at.subheader, at.caption, at.markdown, at.info,
                                at.warning, at.error, at.success) for e in kind]
    out += [e.value for kind in (at.sidebar.info, at.sidebar.warning, at.sidebar.error)
            for e in kind]
    out += [f"{m.label} {m.value} {m.proto.delta}" for m in at.metric]
    return [str(t) for t in out]


# -- 1, 2: custom ranges from a link --------------------------------------------------------

@pytest.mark.parametrize("page", ["app_pages/overview.py", "app_pages/performance.py"])
def test_a_custom_range_ending_after_now_ends_now_instead_of_crashing(
        installed_runtime: Runtime, page: str) -> None:
    # GIVEN a shared link whose custom range ends tomorrow
    query = {"range": "custom", "from": "2026-11-26T00:00+00:00", "to": "2026-11-27T12:00+00:00"}
    # WHEN it is opened
    at = signed_in_app(page, query=query).run()
    # THEN the page draws the range up to now and says why it was cut
    assert not at.exception
    assert any("after now: it ends now" in i.value for i in at.sidebar.info)
    assert "→ 2026-11-26 15:35 UTC" in at.caption[0].value  # now (15:37), aligned down


def test_a_reversed_custom_range_names_its_own_dates(installed_runtime: Runtime) -> None:
    # GIVEN a link whose range ends a day before it starts
    query = {"range": "custom", "from": "2026-11-26T10:00+00:00", "to": "2026-11-25T10:00+00:00"}
    # WHEN it is opened
    at = signed_in_app(query=query).run()
    # THEN the error quotes the two dates of the link, and the default range is shown
    assert not at.exception
    assert any("ends (2026-11-25 10:00 UTC) before it starts (2026-11-26 10:00 UTC)" in e.value
               for e in at.sidebar.error)
    assert "Last 3 hours" in at.caption[0].value


def test_make_range_names_the_dates_it_was_given() -> None:
    # GIVEN / WHEN a reversed range  THEN the message quotes its start, not a derived date
    with pytest.raises(PeriodError, match=r"before it starts \(2026-11-26 10:00"):
        make_range(datetime(2026, 11, 26, 10, tzinfo=UTC), datetime(2026, 11, 25, 10, tzinfo=UTC),
                   now=NOW)


# -- 3, 4: "vs previous" ------------------------------------------------------------------

def test_without_a_previous_window_the_tiles_say_why(installed_runtime: Runtime) -> None:
    # GIVEN a store holding 2 days of history and the 30-day range
    # WHEN the Overview is opened
    at = signed_in_app(query={"range": "30d"}).run()
    # THEN each tile says the previous window has no data, and a caption says why
    assert not at.exception
    assert {m.proto.delta for m in at.metric} == {"no data for the previous window"}
    assert any("the local store keeps 2 days of history" in c.value for c in at.caption)


def _one_tile() -> None:
    import pandas as pd
    import streamlit as st

    from analytics.overview.service import Tile
    from analytics.ui.tiles import tile

    value, previous = st.session_state["values"]
    tile(Tile("requests", "Requests", value, previous, "", pd.Series(dtype="float64"),
              lower_is_better=False))


@pytest.mark.parametrize(("values", "delta", "colour"), [
    ((100.0, 100.0), "no change vs previous", "GRAY"),
    ((99.97, 100.0), "no change vs previous", "GRAY"),  # -0.03 % rounds to zero
    ((103.0, 100.0), "+3.0% vs previous", "GREEN"),
    ((0.0, 0.0), "no change vs previous", "GRAY"),  # no throttles then, none now
])
def test_a_change_that_rounds_to_zero_is_grey_without_an_arrow(
        values: tuple[float, float], delta: str, colour: str) -> None:
    # GIVEN a tile whose value equals (or rounds to) the previous window's
    at = AppTest.from_function(_one_tile)
    at.session_state["values"] = values
    # WHEN it is drawn
    at.run()
    # THEN no "+0.0%" in red with an up arrow: a grey "no change"
    metric = at.metric[0].proto
    named = metric.DESCRIPTOR.fields_by_name["color"].enum_type.values_by_number[metric.color]
    assert (metric.delta, named.name) == (delta, colour)


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_a_signed_zero_change(installed_runtime: Runtime, page: str) -> None:
    at = signed_in_app(page).run()
    assert not at.exception
    assert not [t for t in texts(at) if re.search(r"[+-]0\.0%", t)]


# -- 5, 6, 7, 8: Performance charts and cold starts ------------------------------------------

@pytest.fixture
def jobseek_performance(installed_runtime: Runtime) -> AppTest:
    at = signed_in_app("app_pages/performance.py", query={"app": "jobseek", "range": "24h"})
    return at.run()


def _axis_of(trace: dict[str, Any]) -> str:
    y = trace.get("yaxis", "y")
    return "yaxis" if y == "y" else f"yaxis{y[1:]}"


def test_panels_of_zeros_start_at_zero(jobseek_performance: AppTest) -> None:
    # GIVEN the Performance page of an app whose functions did not throttle
    at = jobseek_performance
    assert not at.exception
    # WHEN its figures are read
    zero_axes = []
    for spec in specs(at):
        by_axis: dict[str, list[float]] = {}
        for trace in spec["data"]:
            by_axis.setdefault(_axis_of(trace), []).extend(
                float(v) for v in spec_points_of(trace))
        for axis, ys in by_axis.items():
            if ys and all(v == 0 for v in ys):
                zero_axes.append(spec["layout"][axis])
    # THEN every all-zero panel is drawn on 0..1, never on plotly's default -1..1
    assert zero_axes, "the fixture should hold a panel of zeros (throttles)"
    assert all(a.get("range") == [0, 1] for a in zero_axes)


def spec_points_of(trace: dict[str, Any]) -> list[float]:
    ys = trace.get("y", [])
    if isinstance(ys, dict):  # plotly's binary form
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(ys["bdata"]), dtype=np.dtype(ys["dtype"])).tolist()
    return [float(v) for v in ys]


def test_the_series_of_one_chart_have_distinct_colours(jobseek_performance: AppTest) -> None:
    # GIVEN every chart of the page (one legend per chart)
    for spec in specs(jobseek_performance):
        colours: dict[str, str] = {}
        for trace in spec["data"]:
            name = str(trace.get("name", ""))
            if name.startswith("SLO") or name.endswith("(previous)") or trace["type"] != "scatter":
                continue
            colours[name] = trace["line"]["color"]
        # THEN no two series share a colour (the RDS chart's "CPU %" and "Read" did)
        assert len(set(colours.values())) == len(colours), colours


def test_s3_daily_points_are_drawn_at_midnight_utc(jobseek_performance: AppTest) -> None:
    # GIVEN the 24-hour range (S3 publishes one datapoint a day, at 00:00 UTC)
    s3 = [c for c in jobseek_performance.get("plotly_chart")
          if any(a.get("text") == "Size (GB)"
                 for a in json.loads(c.proto.spec)["layout"].get("annotations", []))]
    assert s3, "the S3 section should draw the bucket"
    for chart in s3:
        drawn = spec_points(chart)
        # THEN every point sits at 00:00 UTC, not at the range's first instant, and is whole
        assert len(drawn) and all(t == t.normalize() for t in drawn["timestamp"])
        assert all(tr.get("cliponaxis") is False for tr in json.loads(chart.proto.spec)["data"])


def test_cold_start_counts_have_thousands_separators(jobseek_performance: AppTest) -> None:
    # GIVEN the Lambda section's cold-start table
    table = next(d for d in jobseek_performance.dataframe
                 if "invocations" in json.loads(d.proto.columns))
    columns = json.loads(table.proto.columns)
    # THEN counts are grouped (63,745 beside "63.74k"), and durations say their unit
    assert "," in columns["invocations"]["type_config"]["format"]
    assert "," in columns["cold_starts"]["type_config"]["format"]
    assert columns["init_p95_ms"]["type_config"]["format"].endswith("ms")


# -- 9: a refresh interval the page cannot honour -------------------------------------------

def test_an_unknown_refresh_interval_is_replaced_with_a_note_that_stays(
        installed_runtime: Runtime) -> None:
    # GIVEN a link asking for a refresh every second
    at = signed_in_app("app_pages/realtime.py", query={"app": "jobseek", "every": "1s"}).run()
    # WHEN the page reruns (the browser's next run sees the rewritten URL, ?every=5s)
    at.run()
    # THEN the note saying 1s became 5 s is still there
    assert not at.exception
    assert at.selectbox(key="rt_every").value == "5s"
    assert any("?every=1s is not one of" in w.value for w in at.sidebar.warning)


# -- 10: the Alarms page shows one range ----------------------------------------------------

def test_alarm_caption_metric_and_timeline_cover_the_same_range(firing_runtime: Runtime) -> None:
    # GIVEN the firing alarm over the last 7 days
    at = signed_in_app("app_pages/alarms.py", query={"range": "7d"}).run()
    assert not at.exception
    tr = preset_range("7d", NOW)
    history = alarms.alarm_history(firing_runtime, "jobseek", ALWAYS_FIRING, start=tr.start,
                                   end=tr.end).value
    metric, timeline = specs(at)
    # THEN the caption, the metric chart and the timeline name the same start and end
    start, end = f"{tr.start:%Y-%m-%d %H:%M}", f"{tr.end:%Y-%m-%d %H:%M}"
    caption = next(c.value for c in at.caption if c.value.startswith("History"))
    assert start in caption and end[-5:] in caption
    for spec in (metric, timeline):
        lo, hi = spec["layout"]["xaxis"]["range"]
        assert (lo[:16].replace("T", " "), hi[:16].replace("T", " ")) == (start, end)
    # and every state change of the range is marked on both, not only the last one
    dotted = [s for s in metric["layout"]["shapes"] if s["line"].get("dash") == "dot"]
    assert len(dotted) == len(history) >= 1
    # and states are plain text with Material icons elsewhere (no emoji boxes)
    states = [r["State"] for r in at.dataframe[0].value.to_dict("records")]
    assert set(states) <= {"ALARM", "OK", "INSUFFICIENT_DATA"}


def test_the_condition_column_is_wide_enough_for_its_text(firing_runtime: Runtime) -> None:
    at = signed_in_app("app_pages/alarms.py").run()
    frame = at.dataframe[0].value
    width = json.loads(at.dataframe[0].proto.columns)["Condition"]["width"]
    assert int(width) >= 7 * int(frame["Condition"].str.len().max())


# -- 11: Costs charts and tables --------------------------------------------------------------

def test_costs_charts_and_tables_read_well(installed_runtime: Runtime) -> None:
    at = signed_in_app("app_pages/costs.py").run()
    assert not at.exception
    charts = {s["layout"]["title"]["text"]: s for s in specs(at)}
    daily = charts["Daily cost by service (all shown apps)"]
    # THEN the first-of-month fee does not flatten the other days: cut, with its total on it
    top = daily["layout"]["yaxis"]["range"][1]
    cut = [a for a in daily["layout"]["annotations"] if a["text"].startswith("↑ $")]
    assert cut and all(a["y"] == top for a in cut)
    # and the legend sits under one-line date ticks (the year label is not hidden)
    assert daily["layout"]["xaxis"]["tickformat"] == "%b %-d"
    assert daily["layout"]["legend"]["yanchor"] == "top"
    # and the MAU note says which month's bars are missing, next to a chart naming its months
    note = next(i.value for i in at.info if "MAU" in i.value)
    assert note.startswith("No October 2026 (actual) bars for")
    mau = charts["Cost per monthly active user"]
    assert all(t.get("showlegend") for t in mau["data"])
    assert {t["name"] for t in mau["data"]} <= {"November 2026 (projected)",
                                                 "November 2026 (to date)"}
    # and the month summary has human headers, money formats and "—" for what is unknown
    summary = at.dataframe[0]
    columns = json.loads(summary.proto.columns)
    assert columns["month_to_date_usd"]["label"] == "Month to date"
    assert columns["month_to_date_usd"]["type_config"]["format"].startswith("$")
    assert summary.proto.placeholder == "—"
    # and days are dates, not epoch milliseconds
    anomalies = next(json.loads(d.proto.columns) for d in at.dataframe
                     if "anomaly_id" in json.loads(d.proto.columns))
    assert anomalies["start"]["type_config"]["type"] == "date"


# -- every page: tables, icons, time zones -----------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_every_table_has_human_headers_and_formats(installed_runtime: Runtime, page: str) -> None:
    at = signed_in_app(page, query={"app": "jobseek"}).run()
    assert not at.exception
    for table in at.dataframe:
        columns = json.loads(table.proto.columns)
        shown = [c for c in table.value.columns]
        assert table.proto.placeholder == "—"
        for c in shown:
            assert c in columns and columns[c].get("label"), (page, c)
            assert "_" not in columns[c]["label"], (page, c)


@pytest.mark.parametrize("page", PAGES)
def test_no_emoji_on_any_page(firing_runtime: Runtime, page: str) -> None:
    at = signed_in_app(page).run()
    assert not at.exception
    shown = texts(at) + [b.proto.text for b in at.sidebar.get("badge")] \
        + [t for e in at.expander for t in [e.label]]
    for table in at.dataframe:
        shown += [str(v) for v in table.value.to_numpy().ravel()]
    assert not [t for t in shown if EMOJI.search(t)]


@pytest.mark.parametrize("page", PAGES)
def test_times_are_in_the_viewers_zone_and_every_caption_names_it(
        installed_runtime: Runtime, page: str) -> None:
    # GIVEN a browser in Berlin (UTC+1 in November)
    at = signed_in_app(page, query={"app": "jobseek"})
    at.context = {"timezone": "Europe/Berlin"}
    # WHEN the page is drawn
    at.run()
    assert not at.exception
    # THEN every caption with a clock time says which zone it is in
    for caption in [c.value for c in at.caption]:
        if CLOCK_TIME.search(caption):
            assert "Europe/Berlin" in caption or "UTC" in caption, caption
    # and the zone is Berlin's unless the link asks for UTC
    assert at.toggle(key="qp_utc").value is False
    assert any("Europe/Berlin" in c.value for c in at.caption)


def test_the_utc_toggle_is_kept_in_the_url(installed_runtime: Runtime) -> None:
    # GIVEN the Overview in Berlin
    at = signed_in_app()
    at.context = {"timezone": "Europe/Berlin"}
    at.run()
    berlin = at.caption[0].value
    start = preset_range("3h", NOW).start
    assert f"{start + timedelta(hours=1):%H:%M}" in berlin and "Europe/Berlin" in berlin
    # WHEN the viewer switches to UTC
    at.toggle(key="qp_utc").set_value(True).run()
    # THEN the times are UTC's and the link says so
    assert f"{start:%Y-%m-%d %H:%M}" in at.caption[0].value and "UTC" in at.caption[0].value
    assert at.query_params["utc"] in (["1"], "1")
