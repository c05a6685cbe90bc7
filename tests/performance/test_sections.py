"""Derived series and sections of the Performance page, as data (no streamlit)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.core.periods import DAY, TimeRange
from analytics.metrics.queries import S3_STORAGE_TYPES, api_query, lambda_query, rds_query
from analytics.performance import page as perf_page
from analytics.performance import service as performance
from analytics.performance.sections import (
    CURRENT,
    DRAWN_COLUMNS,
    PREVIOUS,
    Chart,
    Lookup,
    breach_spans,
    lines,
    panel,
    rate_pct,
)
from tests.performance.conftest import CATALOG, START, TR


def _s(values: list[float], start=START, period: int = 300) -> pd.Series:
    idx = pd.DatetimeIndex([pd.Timestamp(start) + pd.Timedelta(seconds=period * i)
                            for i in range(len(values))])
    return pd.Series(values, index=idx, dtype="float64")


def test_rate_pct_per_bucket_counts_missing_errors_as_zero_and_skips_idle_buckets() -> None:
    count = _s([200, 0, 50, 100])
    errors = _s([4, 1, 5])  # no datapoint in the last bucket = no errors
    rate = rate_pct(errors, count)
    assert list(rate.index) == [count.index[0], count.index[2], count.index[3]]
    assert list(rate) == [2.0, 10.0, 0.0]


def test_breach_spans_are_contiguous_runs_and_a_gap_ends_a_run() -> None:
    p95 = _s([150, 260, 270, 180, 300, 301, 299])
    p95 = p95.drop(p95.index[5])  # no traffic in that bucket
    spans = breach_spans(p95, 250.0, 300)
    t = p95.index
    step = pd.Timedelta(seconds=300)
    assert spans == ((t[1], t[2] + step), (t[4], t[4] + step), (t[5], t[5] + step))
    assert breach_spans(p95, 1000.0, 300) == ()


def test_previous_window_is_shifted_onto_the_current_axis() -> None:
    tr = TimeRange(START, START + timedelta(hours=1), 300)
    before = _s([1.0, 2.0], start=START - timedelta(hours=1))
    now = _s([3.0, 4.0])
    both = pd.concat([before, now])
    drawn = lines(tr, {"Requests": both}, compare=True)
    cur = drawn[drawn["window"] == CURRENT]
    prev = drawn[drawn["window"] == PREVIOUS]
    assert list(cur["value"]) == [3.0, 4.0] and list(prev["value"]) == [1.0, 2.0]
    assert list(prev["timestamp"]) == list(now.index)  # same x as the current buckets
    assert set(lines(tr, {"Requests": both}, compare=False)["window"]) == {CURRENT}


def test_chart_frame_is_every_drawn_point_panel_by_panel() -> None:
    a = panel("Requests", "count", tr=TR, series={"Requests": _s([1, 2])}, compare=False)
    b = panel("Error rates (%)", "%", tr=TR, series={"5xx %": _s([0.5])}, compare=False)
    frame = Chart("k", "t", (a, b)).frame()
    assert list(frame.columns) == DRAWN_COLUMNS
    assert frame[["panel", "series", "value"]].values.tolist() == [
        ["Requests", "Requests", 1.0], ["Requests", "Requests", 2.0],
        ["Error rates (%)", "5xx %", 0.5]]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["timestamp", "app", "resource", "metric", "stat",
                                       "value"])


def test_api_view_rates_slo_line_and_breach_from_a_tidy_frame() -> None:
    app = CATALOG.get("ilikeyacut")
    api = app.resources.apis[0]
    t = [pd.Timestamp(TR.start) + pd.Timedelta(seconds=300 * i) for i in range(3)]
    rows = []
    for ts, count, e5, p95 in zip(t, [100, 200, 400], [1, 0, 8], [150, 240, 260], strict=True):
        rows += [(ts, app.id, api.name, "Count", "Sum", count),
                 (ts, app.id, api.name, "5XXError", "Sum", e5),
                 (ts, app.id, api.name, "Latency", "p95", p95)]
    page = perf_page.build_sections(app, TR, _frame(rows), compare=False)
    view = page[0].resources[0]
    rates = view.chart.panels[1].data
    assert rates[rates["series"] == "5xx %"]["value"].tolist() == [1.0, 0.0, 2.0]
    latency = view.chart.panels[2]
    slo = latency.data[latency.data["series"].str.startswith("SLO")]
    assert slo["value"].tolist() == [200.0, 200.0]
    assert latency.spans == ((t[1], t[2] + pd.Timedelta(seconds=300)),)
    assert view.alert and "breached in 1 span(s)" in view.summary
    assert "700 requests" in view.summary and "5xx 1.29%" in view.summary


def test_units_are_converted_rds_seconds_to_ms_and_bytes_to_gb() -> None:
    app = CATALOG.get("jobseek")
    inst = app.resources.rds_instances[0]
    ts = pd.Timestamp(TR.start)
    frame = _frame([(ts, app.id, inst, "ReadLatency", "Average", 0.0025),
                    (ts, app.id, inst, "FreeStorageSpace", "Minimum", 42e9)])
    rds = next(s for s in perf_page.build_sections(app, TR, frame, compare=False) if s.key == "rds")
    chart = rds.resources[0].chart
    by_panel = {p.title: p.data for p in chart.panels}
    assert by_panel["Read/write latency (ms)"]["value"].tolist() == [2.5]
    assert by_panel["Free storage (GB)"]["value"].tolist() == [42.0]


def test_page_queries_cover_every_service_once() -> None:
    jobseek = perf_page.page_queries(CATALOG.get("jobseek"), TR)
    # DynamoDB: capacity x2, read + write throttle events, latency avg/max; S3: the size of
    # every storage type + the object count.
    s3 = len(S3_STORAGE_TYPES) + 1
    assert len(jobseek) == 2 * 6 + 4 * 7 + 6 + 5 + s3 == 51 + s3
    assert len(set(jobseek)) == len(jobseek)
    assert api_query("jobseek", CATALOG.get("jobseek").resources.apis[0], "Latency", stat="p99",
                     period=300) in jobseek
    assert lambda_query("jobseek", "jobseek-notify", "ConcurrentExecutions", stat="Maximum",
                        period=300) in jobseek
    assert rds_query("jobseek", "jobseek-postgres", "CPUUtilization", stat="Average",
                     period=300) in jobseek
    ilikeyacut = perf_page.page_queries(CATALOG.get("ilikeyacut"), TR)
    assert len(ilikeyacut) == 6 + 3 * 7 + 2 * 6 + 2 * s3 == 39 + 2 * s3
    assert not any(q.namespace == "AWS/RDS" for q in ilikeyacut)


def test_empty_states_name_the_apps_toml_key() -> None:
    app = CATALOG.get("ilikeyacut")
    sections = perf_page.build_sections(app, TR, _frame([]), compare=False)
    rds = next(s for s in sections if s.key == "rds")
    assert rds.resources == () and rds.label == "RDS · not configured"
    assert "`rds_instances`" in rds.empty_message and "[apps.ilikeyacut.resources]" in \
        rds.empty_message
    # configured resources without any datapoint: charts are empty, S3 explains why
    s3 = next(s for s in sections if s.key == "s3")
    assert all(r.chart.empty for r in s3.resources) and "once a day" in s3.note


def test_s3_note_depends_on_the_range() -> None:
    short = perf_page.s3_note(TR)
    long = perf_page.s3_note(TimeRange(START, START + timedelta(seconds=7 * DAY), 3600))
    assert "Last 7 days" in short and "Last 7 days" not in long


def test_fetch_window_starts_one_window_earlier_when_comparing() -> None:
    assert perf_page.fetch_window(TR, False) == TR
    w = perf_page.fetch_window(TR, True)
    assert (w.start, w.end) == (TR.start - timedelta(seconds=TR.seconds), TR.end)


def test_lookup_groups_once_and_missing_series_are_empty() -> None:
    ts = pd.Timestamp(TR.start)
    look = Lookup(_frame([(ts, "a", "r", "m", "Sum", 1.0), (ts, "a", "r", "m", "p95", 2.0)]))
    assert look.get("r", "m", "Sum").tolist() == [1.0]
    assert look.get("r", "m", "Average").empty


@pytest.mark.parametrize("compare", [False, True])
def test_sections_on_the_simulated_store_have_data_for_every_resource(local_runtime,
                                                                      compare: bool) -> None:
    from analytics.core.periods import preset_range

    tr = preset_range("24h", local_runtime.now())
    for app in local_runtime.catalog.apps:
        page = performance.performance(local_runtime, app, tr=tr, compare=compare)
        for sec in page.sections:
            for res in sec.resources:
                assert not res.chart.empty, (app.id, sec.key, res.name)
                frame = res.chart.frame()
                assert np.isfinite(frame["value"]).all()
                assert (frame["timestamp"] >= pd.Timestamp(tr.start)).all()
                assert (frame["timestamp"] <= pd.Timestamp(tr.end)).all()
                windows = set(frame["window"])
                if not compare:
                    assert windows == {CURRENT}
                elif sec.key != "s3":  # S3's previous day may predate the 2-day store
                    assert windows == {CURRENT, PREVIOUS}
