"""CloudWatch GetMetricData (the only metrics read), through the shared boto3 factory.

A page's queries go out together: up to 500 per request, every page of the answer followed by
botocore's paginator. A period that breaks CloudWatch's retention rules would come back empty
without an error, so it is refused here before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from analytics.core.aws_clients import AwsClients
from analytics.core.periods import PeriodError, as_utc, period_is_valid, utcnow
from analytics.metrics.frames import empty_tidy, tidy
from analytics.metrics.queries import MetricQuery

MAX_QUERIES_PER_CALL = 500


def metric_data_query(qid: str, q: MetricQuery) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": q.namespace,
                "MetricName": q.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in q.dimensions],
            },
            "Period": q.period,
            "Stat": q.stat,
        },
        "ReturnData": True,
    }


class AwsMetrics:
    """GetMetricData for any number of queries; ``clock`` decides what "too old" means."""

    def __init__(self, *, clients: AwsClients, clock: Callable[[], datetime] = utcnow) -> None:
        self.clients = clients
        self.clock = clock

    def get_metric_data(self, queries: Sequence[MetricQuery], *, start: datetime,
                        end: datetime) -> pd.DataFrame:
        if not queries:
            return empty_tidy()
        start, end = as_utc(start), as_utc(end)
        now = self.clock()
        for q in queries:
            if not period_is_valid(q.period, start, now):
                # CloudWatch would answer with no data and no error: refuse loudly instead.
                raise PeriodError(f"period {q.period}s cannot be served for data from "
                                  f"{start:%F %T} ({q.metric} of {q.resource})")
        pages = self.clients.client("cloudwatch").get_paginator("get_metric_data")
        rows: list[tuple[object, ...]] = []
        for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk = queries[offset:offset + MAX_QUERIES_PER_CALL]
            by_id = {f"q{offset + i}": q for i, q in enumerate(chunk)}
            for page in pages.paginate(
                    MetricDataQueries=[metric_data_query(i, q) for i, q in by_id.items()],
                    StartTime=start, EndTime=end, ScanBy="TimestampAscending"):
                for result in page.get("MetricDataResults", []):
                    q = by_id[result["Id"]]
                    for ts, value in zip(result.get("Timestamps", []),
                                         result.get("Values", []), strict=False):
                        rows.append((ts, q.app, q.resource, q.metric, q.stat, float(value)))
        return tidy(rows) if rows else empty_tidy()
