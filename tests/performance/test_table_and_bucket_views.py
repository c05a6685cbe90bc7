"""DynamoDB and S3 sections read what AWS means: throttles of every operation, every storage
type's bytes. Both read 0 or too little before (``ThrottledRequests`` of PutItem only,
``StandardStorage`` only)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from analytics.core.periods import DAY, TimeRange
from analytics.metrics.frames import tidy
from analytics.performance import page as perf_page
from tests.performance.conftest import START, make_catalog

APP = make_catalog({"id": "shop", "resources": {"dynamodb_tables": ["orders"],
                                                 "s3_buckets": ["assets"]}}).get("shop")


def test_throttles_are_read_and_write_events_of_the_table() -> None:
    # GIVEN a table whose BatchWriteItem and Query calls were throttled (the only operation
    # the old query asked about, PutItem, never was)
    tr = TimeRange(START, START + timedelta(minutes=10), 300)
    t0, t1 = pd.Timestamp(START), pd.Timestamp(START) + pd.Timedelta(minutes=5)
    frame = tidy([(t0, "shop", "orders", "ReadThrottleEvents", "Sum", 4.0),
                  (t1, "shop", "orders", "WriteThrottleEvents", "Sum", 7.0),
                  (t0, "shop", "orders", "SuccessfulRequestLatency", "Average", 3.5)])
    # WHEN the DynamoDB section is built
    section = perf_page.build_sections(APP, tr, frame, compare=False)[2]
    [table] = section.resources
    # THEN both kinds of throttles are drawn and counted, and the latency names its operation
    panels = {p.title: p.data for p in table.chart.panels}
    throttles = panels["Throttle events"]
    assert set(throttles["series"]) == {"Read throttles", "Write throttles"}
    assert throttles["value"].sum() == 11.0
    assert "11 throttle events (4 read, 7 write)" in table.summary
    assert table.alert
    assert set(panels["Query latency (ms)"]["series"]) == {"Query avg"}


def test_bucket_size_sums_every_storage_type_it_has() -> None:
    # GIVEN a bucket with bytes in Standard, Standard-IA and Glacier on the same day
    tr = TimeRange(START - timedelta(days=3), START, DAY)
    day = pd.Timestamp(START - timedelta(days=2)).floor("D")
    gb = 1e9
    frame = tidy([(day, "shop", "assets", "BucketSizeBytes/StandardStorage", "Average", 5 * gb),
                  (day, "shop", "assets", "BucketSizeBytes/StandardIAStorage", "Average", 3 * gb),
                  (day, "shop", "assets", "BucketSizeBytes/GlacierStorage", "Average", 2 * gb),
                  (day, "shop", "assets", "NumberOfObjects", "Average", 1000.0)])
    # WHEN the S3 section is built
    [bucket] = perf_page.build_sections(APP, tr, frame, compare=False)[4].resources
    # THEN the size is their sum
    size = next(p.data for p in bucket.chart.panels if p.title == "Size (GB)")
    assert size["value"].tolist() == [10.0]
    assert bucket.summary.startswith("10 GB")
