"""CloudWatch GetMetricData (the only metrics read), through the shared boto3 factory.

A page's queries go out together: up to 500 per request, every page of the answer followed by
botocore's paginator. A period that breaks CloudWatch's retention rules would come back empty
without an error, so it is refused here before anything is sent. Each result carries a
``StatusCode``: a series answered ``Forbidden`` or ``InternalError`` comes back empty just like
one without traffic, so those (with AWS's ``Messages``) travel with the frame as notes
(``frame.attrs["notes"]``) that the page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from analytics.core.aws_clients import AwsClients
from analytics.core.periods import PeriodError, as_utc, period_is_valid, utcnow
from analytics.metrics.frames import NOTES, empty_tidy, tidy
from analytics.metrics.queries import MetricQuery

MAX_QUERIES_PER_CALL = 500
#: Result status codes that mean "this series is incomplete", not "no data".
PROBLEM_STATUSES = ("Forbidden", "InternalError")


def result_notes(problems: dict[str, list[tuple[MetricQuery, list[str]]]]) -> list[str]:
    """One note per status code, naming the series (a few) and AWS's messages."""
    out = []
    for status, items in sorted(problems.items()):
        names = sorted({f"{q.metric} {q.stat} of {q.resource}" for q, _ in items})
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        messages = sorted({m for _, ms in items for m in ms})
        why = ("the dashboard's role may not read these metrics" if status == "Forbidden"
               else "CloudWatch failed to compute them; they are retried on the next refresh")
        out.append(f"CloudWatch answered {status} for {len(names)} series ({shown}): {why}"
                   + (f" — {'; '.join(messages)}" if messages else "") + ".")
    return out


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
        problems: dict[str, list[tuple[MetricQuery, list[str]]]] = {}
        for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk = queries[offset:offset + MAX_QUERIES_PER_CALL]
            by_id = {f"q{offset + i}": q for i, q in enumerate(chunk)}
            for page in pages.paginate(
                    MetricDataQueries=[metric_data_query(i, q) for i, q in by_id.items()],
                    StartTime=start, EndTime=end, ScanBy="TimestampAscending"):
                for result in page.get("MetricDataResults", []):
                    q = by_id[result["Id"]]
                    status = str(result.get("StatusCode", "Complete"))
                    if status in PROBLEM_STATUSES:
                        problems.setdefault(status, []).append(
                            (q, [str(m.get("Value", "")) for m in result.get("Messages", [])]))
                    for ts, value in zip(result.get("Timestamps", []),
                                         result.get("Values", []), strict=False):
                        rows.append((ts, q.app, q.resource, q.metric, q.stat, float(value)))
        frame = tidy(rows) if rows else empty_tidy()
        if problems:
            frame.attrs[NOTES] = result_notes(problems)
        return frame
