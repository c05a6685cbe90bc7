"""GetMetricData calls of the Performance page on aws (moto + the call-counting hook)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analytics.metrics.queries import S3_STORAGE_TYPES
from analytics.performance import page as perf_page
from analytics.performance import service as performance
from analytics.performance.sections import PREVIOUS
from tests.performance.conftest import (
    CATALOG,
    START,
    TR,
    aws_runtime,
    make_catalog,
    make_samples,
    put_to_moto,
)


def _gmd(rt) -> int:
    return rt.cache.snapshot()["aws_calls"].get("cloudwatch.GetMetricData", 0)


@pytest.mark.parametrize("app_id", ["ilikeyacut", "jobseek"])
@pytest.mark.parametrize("compare", [False, True])
def test_the_whole_page_is_one_getmetricdata_call(moto, app_id: str, compare: bool) -> None:
    rt = aws_runtime()
    app = rt.catalog.get(app_id)
    page = performance.performance(rt, app, tr=TR, compare=compare)
    n = len(perf_page.page_queries(app, TR))
    assert page.n_queries == n and n > 30
    assert _gmd(rt) == math.ceil(n / 500) == 1
    performance.performance(rt, app, tr=TR, compare=compare)  # a second view within the TTL
    assert _gmd(rt) == 1


def test_a_page_of_more_than_500_queries_takes_ceil_n_over_500_calls(moto) -> None:
    fns = [f"fn-{i:03d}" for i in range(80)]
    rt = aws_runtime(make_catalog({"id": "big", "resources": {
        "lambdas": fns, "dynamodb_tables": ["t1", "t2"], "s3_buckets": ["b-1"]}}))
    page = performance.performance(rt, rt.catalog.get("big"), tr=TR)
    n = 80 * 7 + 2 * 6 + len(S3_STORAGE_TYPES) + 1
    assert page.n_queries == n == 585
    assert _gmd(rt) == math.ceil(n / 500) == 2


def test_compare_fetches_the_previous_window_in_the_same_call(moto) -> None:
    """The previous window's data, put in moto, comes back shifted onto the current axis."""
    app = CATALOG.get("ilikeyacut")
    samples = make_samples(app, seed=5, span_s=2 * TR.seconds)
    previous_start = START - pd.Timedelta(seconds=TR.seconds)
    put_to_moto(samples, start=previous_start)
    rt = aws_runtime()
    page = performance.performance(rt, app, tr=TR, compare=True)
    assert _gmd(rt) == 1
    api = page.section("api").resources[0].chart
    requests = api.panels[0].data
    prev = requests[requests["window"] == PREVIOUS]
    cur = requests[requests["window"] != PREVIOUS]
    assert len(prev) and len(cur)
    assert prev["timestamp"].min() >= pd.Timestamp(TR.start)  # drawn on the current axis
    count_key = next(q.series_key for q in perf_page.page_queries(app, TR)
                     if q.metric == "Count")
    in_prev = sum(v for s, v in samples[count_key] if s < TR.seconds)
    assert prev["value"].sum() == pytest.approx(in_prev)
    in_cur = sum(v for s, v in samples[count_key] if TR.seconds <= s < 2 * TR.seconds)
    assert cur["value"].sum() == pytest.approx(in_cur)
