"""POST -> data layer on both backends: what was ingested is what the Realtime queries return,
aggregated per period like CloudWatch, with TTL-expired items hidden and DynamoDB paging."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from analytics.core import access
from analytics.core.periods import align_down
from analytics.custom import keys
from analytics.custom import service as cm
from analytics.custom.aws import AwsCustom
from analytics.realtime import service as realtime
from analytics.sources import Runtime
from tests.conftest import NOW, NOW_MS
from tests.custom.conftest import TABLE, AwsSide, http_post, metric, unique_name


@dataclass
class Side:
    name: str
    rt: Runtime
    post: Callable[[Any], tuple[int, Any]]
    announce: Callable[[str, str], None]  # (app, metric): make the metric listable


@pytest.fixture(params=["local", "aws"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    if request.param == "local":
        rt = request.getfixturevalue("custom_rt")
        srv, tok = request.getfixturevalue("server"), request.getfixturevalue("token")
        rt.cache.reset()
        yield Side("local", rt, lambda body: http_post(srv.url, body, tok), lambda a, m: None)
        return
    aws: AwsSide = request.getfixturevalue("aws")
    yield Side("aws", aws.rt, aws.post,
               lambda a, m: aws.emf_copy(aws.rt.catalog.get(a).namespace, [m]))


def _post_all(side: Side, items: list[dict[str, Any]]) -> None:
    for i in range(0, len(items), 100):
        assert side.post({"metrics": items[i:i + 100]})[0] == 202


def test_round_trip_post_then_series_and_latest(side: Side) -> None:
    name = unique_name("Rt")
    now_ms = NOW_MS
    ts = now_ms - 2_000
    assert side.post(metric(applicationId="ilikeyacut", metricName=name, value=42,
                            timestamp=ts))[0] == 202
    side.announce("ilikeyacut", name)
    start, end = realtime.realtime_window(NOW)
    got = cm.custom_metric_series(
        side.rt, "ilikeyacut", name, start=start, end=end, period=10, stat="Sum", kind="realtime"
    )
    frame = got.value
    assert list(frame["value"]) == [42.0]
    assert list(frame["resource"]) == ["Plan=pro"]
    bucket = start + timedelta(seconds=(ts - int(start.timestamp() * 1000)) // 10_000 * 10)
    assert frame["timestamp"].iloc[0] == bucket
    assert cm.list_custom_metrics(side.rt, "ilikeyacut").count(name) == 1
    latest = cm.latest_points(side.rt, "ilikeyacut", since=start).value
    mine = next(m for m in latest.metrics if m.metric == name)
    assert (mine.last_ts_ms, mine.points, mine.unit) == (ts, 1, "Count")
    assert latest.last_ts_ms is not None and latest.last_ts_ms >= ts
    assert latest.lag_p95_ms is not None and latest.lag_p95_ms >= latest.lag_p50_ms


@pytest.mark.parametrize("stat", ["Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50",
                                  "p95", "p99.9"])
def test_aggregation_per_period_equals_numpy(side: Side, stat: str) -> None:
    name = unique_name("Agg")
    rng = np.random.default_rng(11)
    start = align_down(NOW - timedelta(minutes=25), 300)
    start_ms = int(start.timestamp() * 1000)
    offsets = rng.choice(15 * 60_000, size=160, replace=False)
    values = np.round(rng.normal(50, 20, 160), 4)
    plans = rng.choice(["free", "pro"], 160)
    _post_all(side, [metric(metricName=name, value=float(v), timestamp=int(start_ms + o),
                            dimensions=[{"name": "Plan", "value": str(p)}])
                     for o, v, p in zip(offsets, values, plans, strict=True)])
    frame = cm.custom_metric_series(side.rt, "jobseek", name, start=start,
                                    end=start + timedelta(minutes=15), period=300, stat=stat).value
    expected = {}
    for plan in ("free", "pro"):
        for b in range(3):
            sel = values[(plans == plan) & (offsets // 300_000 == b)]
            q = {"p50": 50, "p95": 95, "p99.9": 99.9}.get(stat)
            expected[(f"Plan={plan}", b)] = (
                float(np.percentile(sel, q)) if q is not None else
                {"Average": np.mean, "Sum": np.sum, "Minimum": np.min, "Maximum": np.max,
                 "SampleCount": len}[stat](sel))
    got = {(r.resource, int((r.timestamp - start).total_seconds()) // 300): r.value
           for r in frame.itertuples()}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-9), k
    only_pro = cm.custom_metric_series(side.rt, "jobseek", name, start=start,
                                       end=start + timedelta(minutes=15), period=300, stat=stat,
                                       dims={"Plan": "pro"}).value
    assert set(only_pro["resource"]) == {"Plan=pro"} and len(only_pro) == 3


def test_expired_items_are_filtered_on_aws(aws: AwsSide) -> None:
    name = unique_name("Ttl")
    now = NOW_MS
    assert aws.post({"metrics": [metric(metricName=name, value=1, timestamp=now - 60_000),
                                 metric(metricName=name, value=2, timestamp=now - 30_000)]})[
        0] == 202
    [item] = [i for i in aws.scan() if int(i["ts_ms"]["N"]) == now - 60_000]
    item["ttl"] = {"N": str(now // 1000 - 5)}  # expired, not yet deleted by DynamoDB
    aws.ddb.put_item(TableName="central-analytics-metrics", Item=item)
    start, end = realtime.realtime_window(NOW)
    frame = cm.custom_metric_series(
        aws.rt, "jobseek", name, start=start, end=end, period=60, stat="SampleCount"
    ).value
    assert frame["value"].sum() == 1.0
    assert (
        cm.custom_metric_series(
            aws.rt, "jobseek", name, start=start, end=end, period=60, stat="Sum"
        )
        .value["value"]
        .sum()
        == 2.0
    )


def test_expired_rows_are_filtered_locally(custom_rt: Runtime) -> None:
    from analytics.local.custom_sink import DuckDBSink

    name = unique_name("Ttl")
    now = NOW_MS
    sink = DuckDBSink(custom_rt.local.store)
    frame = pd.DataFrame({
        "metric_id": f"jobseek#{name}", "sort_key": [str(now * 10**20), str((now - 1) * 10**20)],
        "ts_ms": [now, now - 1], "dims": "", "value": [1.0, 5.0], "unit": None, "app": "jobseek",
        "metric_name": name, "received_ms": now, "ttl": [now // 1000 + 60, now // 1000 - 1]})
    sink.write_frame(frame)
    start, end = realtime.realtime_window(NOW)
    got = cm.custom_metric_series(
        custom_rt, "jobseek", name, start=start, end=end, period=60, stat="Sum"
    ).value
    assert got["value"].tolist() == [1.0]


def test_dynamodb_reads_are_paginated_and_project_only_needed_attributes(
        aws: AwsSide) -> None:
    # GIVEN the aws custom source asking for pages of 7 items
    aws.rt.sources = dataclasses.replace(aws.rt.sources, custom=AwsCustom(
        clients=cast(AwsCustom, aws.rt.sources.custom).clients, table=TABLE, page_limit=7))
    name = unique_name("Page")
    now = NOW_MS
    _post_all(aws, [metric(metricName=name, value=i, timestamp=now - 100_000 + i * 1000)
                    for i in range(60)])
    seen: list[dict[str, Any]] = []
    client = cast(AwsCustom, aws.rt.sources.custom).clients.client("dynamodb")
    client.meta.events.register("provide-client-params.dynamodb.Query",
                                lambda params, **_: seen.append(dict(params)))
    start, end = realtime.realtime_window(NOW)
    frame = cm.custom_metric_series(
        aws.rt, "jobseek", name, start=start, end=end, period=60, stat="Sum"
    ).value
    assert frame["value"].sum() == sum(range(60))
    assert len(seen) == aws.rt.cache.aws_calls["dynamodb.Query"] == 9  # ceil(60 / 7) pages
    assert all(p["Limit"] == 7 for p in seen)
    assert "ExclusiveStartKey" not in seen[0] and "ExclusiveStartKey" in seen[1]
    projected = {seen[0]["ExpressionAttributeNames"][n.strip()]
                 for n in seen[0]["ProjectionExpression"].split(",")}
    assert projected == {"ts_ms", "dims", "value"}
    lo, hi = (int(seen[0]["ExpressionAttributeValues"][k]["N"]) for k in (":lo", ":hi"))
    assert (lo, hi) == keys.sort_key_range(int(start.timestamp() * 1000),
                                         int(end.timestamp() * 1000) - 1)


def test_listing_uses_the_apps_namespace_plus_the_catalogs_mau_metric(aws: AwsSide) -> None:
    aws.emf_copy("JobSeek/Business", ["JobSearches", "ApplicationsSent"])
    aws.emf_copy("ILikeYaCut/Business", ["HaircutsGenerated"])
    assert cm.list_custom_metrics(aws.rt, "jobseek") == [
        "ActiveUsers", "ApplicationsSent", "JobSearches"]
    assert cm.list_custom_metrics(aws.rt, "ilikeyacut") == ["ActiveUsers", "HaircutsGenerated"]


def test_bad_input_is_a_clear_error(custom_rt: Runtime) -> None:
    start, end = realtime.realtime_window(NOW)
    with pytest.raises(ValueError, match="unknown application 'nope'"):
        cm.custom_metric_series(custom_rt, "nope", "X", start=start, end=end, period=60)
    with pytest.raises(ValueError, match="invalid metric name"):
        cm.custom_metric_series(custom_rt, "jobseek", "bad name", start=start, end=end, period=60)
    with pytest.raises(ValueError, match="period must be"):
        cm.custom_metric_series(custom_rt, "jobseek", "X", start=start, end=end, period=45)
    with pytest.raises(ValueError, match="unsupported statistic"):
        cm.custom_metric_series(
            custom_rt, "jobseek", "X", start=start, end=end, period=60, stat="Median"
        )
    with pytest.raises(ValueError, match="before it starts"):
        cm.custom_metric_series(custom_rt, "jobseek", "X", start=end, end=start, period=60)
    with pytest.raises(ValueError, match="exceed"):
        cm.custom_metric_series(
            custom_rt, "jobseek", "X", start=start - timedelta(days=30), end=end, period=1
        )


def test_a_user_cannot_read_another_apps_metrics(custom_rt: Runtime) -> None:
    access.set_principal(access.Principal("viewer", "viewer", frozenset({"ilikeyacut"})))
    try:
        start, end = realtime.realtime_window(NOW)
        with pytest.raises(access.AccessDenied):
            cm.custom_metric_series(
                custom_rt, "jobseek", "JobSearches", start=start, end=end, period=60
            )
        with pytest.raises(access.AccessDenied):
            cm.latest_points(custom_rt, "jobseek", since=start)
        with pytest.raises(access.AccessDenied):
            cm.list_custom_metrics(custom_rt, "jobseek")
        assert "HaircutsGenerated" in cm.list_custom_metrics(custom_rt, "ilikeyacut")
    finally:
        access.set_principal(None)


def test_key_helpers_agree_with_the_lambda() -> None:
    from ingest import keys as ingest_keys

    rng = np.random.default_rng(5)
    for _ in range(200):
        a, b = sorted(int(x) for x in rng.integers(1_600_000_000_000, 1_900_000_000_000, 2))
        assert keys.sort_key_range(a, b) == ingest_keys.sort_key_range(a, b)
    for dims in ({}, {"Plan": "pro"}, {"b": "x,y=z", "a": "back\\slash"}, {"Z": "1", "A": "2"}):
        assert keys.canonical_dims(dims) == ingest_keys.canonical_dims(dims.items())
    assert keys.SORT_KEY_SHIFT == ingest_keys.SORT_KEY_SHIFT
    assert keys.METRIC_NAME_RE.pattern == load_models().METRIC_NAME_RE.pattern


def load_models() -> Any:
    from ingest import models

    return models
