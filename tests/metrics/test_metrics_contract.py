"""The same metric queries against both backends give the same tidy answer."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.core.catalog import Api
from analytics.metrics.queries import TIDY_COLUMNS, MetricQuery, api_query, lambda_query
from tests.metrics.conftest import END, SERIES, START

API = Api(id="k3x9ab12cd", name="ilikeyacut-api", kind="http")


def _expected(ns: str, name: str, dims: tuple, stat: str, period: int) -> dict[pd.Timestamp,
                                                                              float]:
    out: dict[pd.Timestamp, list[float]] = {}
    for s, v in SERIES[(ns, name, dims)]:
        if s >= (END - START).total_seconds():
            continue
        bucket = pd.Timestamp(START + timedelta(seconds=s - s % period))
        out.setdefault(bucket, []).append(v)
    fn = {"Sum": np.sum, "Average": np.mean, "Minimum": np.min, "Maximum": np.max,
          "SampleCount": len}[stat]
    return {k: float(fn(v)) for k, v in out.items()}


@pytest.mark.parametrize("stat", ["Sum", "Average", "Minimum", "Maximum", "SampleCount"])
@pytest.mark.parametrize("period", [60, 300])
def test_basic_statistics_match_on_both_backends(backend, stat: str, period: int) -> None:
    q = api_query("ilikeyacut", API, "Latency", stat=stat, period=period)
    frame = backend.get_metric_data([q], start=START, end=END)
    assert list(frame.columns) == TIDY_COLUMNS
    got = dict(zip(frame["timestamp"], frame["value"], strict=True))
    want = _expected("AWS/ApiGateway", "Latency", (("ApiId", API.id),), stat, period)
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-9)
    assert set(frame["app"]) == {"ilikeyacut"} and set(frame["resource"]) == {API.name}
    assert set(frame["metric"]) == {"Latency"} and set(frame["stat"]) == {stat}


def test_many_queries_in_one_call_are_labelled(backend) -> None:
    qs = [api_query("ilikeyacut", API, "Count", stat="Sum", period=300),
          lambda_query("ilikeyacut", "ilikeyacut-auth", "Errors", stat="Sum", period=300),
          lambda_query("ilikeyacut", "ilikeyacut-auth", "Errors", stat="Maximum", period=300),
          lambda_query("ilikeyacut", "no-such-fn", "Errors", stat="Sum", period=300)]
    frame = backend.get_metric_data(qs, start=START, end=END)
    totals = frame.groupby(["resource", "metric", "stat"])["value"].sum().to_dict()
    count_sum = sum(v for s, v in SERIES[("AWS/ApiGateway", "Count", (("ApiId", API.id),))])
    assert totals[(API.name, "Count", "Sum")] == pytest.approx(count_sum)
    errors = [v for s, v in SERIES[("AWS/Lambda", "Errors",
                                    (("FunctionName", "ilikeyacut-auth"),))] if s < 1800]
    assert totals[("ilikeyacut-auth", "Errors", "Sum")] == pytest.approx(sum(errors))
    assert ("no-such-fn", "Errors", "Sum") not in totals  # no data → no points, no error


def test_whole_window_bucket(backend) -> None:
    q = MetricQuery("AWS/ApiGateway", "Count", (("ApiId", API.id),), "Sum", 1800,
                    "ilikeyacut", API.name, "Count")
    frame = backend.get_metric_data([q], start=START, end=END)
    assert list(frame["timestamp"]) == [pd.Timestamp(START)]
    assert frame["value"].iloc[0] == pytest.approx(
        sum(v for _, v in SERIES[("AWS/ApiGateway", "Count", (("ApiId", API.id),))]))


def test_empty_query_list(backend) -> None:
    frame = backend.get_metric_data([], start=START, end=END)
    assert frame.empty and list(frame.columns) == TIDY_COLUMNS


def test_a_percentile_over_a_window_without_samples_is_an_empty_answer(backend) -> None:
    # GIVEN a series that exists, and a window a day before its first sample
    q = api_query("ilikeyacut", API, "Latency", stat="p95", period=300)
    start = START - timedelta(days=1)
    # WHEN its p95 is asked for over that window
    frame = backend.get_metric_data([q], start=start, end=start + timedelta(minutes=30))
    # THEN the answer is empty (no points), not an error
    assert list(frame.columns) == TIDY_COLUMNS and frame.empty
