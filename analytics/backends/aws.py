"""The aws backend: CloudWatch GetMetricData (only) through the shared boto3 factory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from analytics.backends.aws_alarms import AwsAlarmsMixin
from analytics.backends.aws_clients import AwsClients
from analytics.backends.aws_costs import AwsCostsMixin
from analytics.backends.aws_custom import AwsCustomMixin
from analytics.backends.aws_perf import AwsPerfMixin
from analytics.backends.base import empty_tidy, tidy
from analytics.periods import PeriodError, as_utc, period_is_valid, utcnow
from analytics.specs import MetricQuery

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


class AwsBackend(AwsCustomMixin, AwsPerfMixin, AwsCostsMixin, AwsAlarmsMixin):
    """Metrics here; each other concern in its mixin module (``aws_<concern>.py``)."""

    name = "aws"

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    def describe(self) -> str:
        s = self.clients.settings
        where = f" via {s.endpoint_url}" if s.endpoint_url else ""
        return f"aws ({s.region}{where})"

    def get_metric_data(self, queries: Sequence[MetricQuery], start: datetime,
                        end: datetime, now: datetime | None = None) -> pd.DataFrame:
        if not queries:
            return empty_tidy()
        start, end = as_utc(start), as_utc(end)
        now = now or utcnow()
        for q in queries:
            if not period_is_valid(q.period, start, now):
                # CloudWatch would answer with no data and no error: refuse loudly instead.
                raise PeriodError(f"period {q.period}s cannot be served for data from "
                                  f"{start:%F %T} ({q.metric} of {q.resource})")
        cw = self.clients.client("cloudwatch")
        rows: list[tuple[object, ...]] = []
        for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk = queries[offset:offset + MAX_QUERIES_PER_CALL]
            by_id = {f"q{offset + i}": q for i, q in enumerate(chunk)}
            request = {
                "MetricDataQueries": [metric_data_query(i, q) for i, q in by_id.items()],
                "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending",
            }
            token: str | None = None
            while True:
                resp = cw.get_metric_data(**request, **({"NextToken": token} if token else {}))
                for result in resp.get("MetricDataResults", []):
                    q = by_id[result["Id"]]
                    for ts, value in zip(result.get("Timestamps", []),
                                         result.get("Values", []), strict=False):
                        rows.append((ts, q.app, q.resource, q.metric, q.stat, float(value)))
                token = resp.get("NextToken")
                if not token:
                    break
        return tidy(rows) if rows else empty_tidy()
