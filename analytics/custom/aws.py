"""Custom business metrics from the ingest Lambda's DynamoDB table.

Reads are DynamoDB ``Query`` calls on one partition (``metricId = "<app>#<metricName>"``) with the
sort key between the bounds of :func:`analytics.custom.keys.sort_key_range` (every dimension
set in the time range), every page followed by botocore's paginator, projecting only the
answer needs and filtering items whose ``ttl`` has passed (DynamoDB deletes expired items up to
two days late, and until then they are still returned). Aggregation per period is done in pandas
by :func:`analytics.custom.keys.aggregate_points`, the same rules as the local SQL.

Listing an app's metrics: the table's key cannot be queried by prefix and a Scan reads the whole
table, so the list comes from CloudWatch ``ListMetrics`` on the app's namespace — the Lambda's EMF
copy creates exactly one CloudWatch metric per custom metric there — plus the catalog's
``mau_metric``. It is metadata (no datapoints are read), paginated, and cached for 5 minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analytics.core.aws_clients import AwsClients
from analytics.core.catalog import App
from analytics.custom.keys import LIST_TTL_S, RECENT_COLUMNS, aggregate_points, sort_key_range


class AwsCustom:
    """``page_limit`` caps items per Query page (None: DynamoDB fills 1 MB pages)."""

    #: ListMetrics is billed per call and shows a new EMF metric only minutes after its first
    #: datapoint: a name list is reused for 5 minutes.
    listing_ttl_s = LIST_TTL_S

    def __init__(self, *, clients: AwsClients, table: str, page_limit: int | None = None
                 ) -> None:
        self.clients = clients
        self.table = table
        self.page_limit = page_limit

    def _query(self, app_id: str, metric_name: str, *, start_ms: int, last_ms: int,
               now_ms: int, attributes: Sequence[str]) -> list[dict[str, Any]]:
        """Every live item of one metric with ``start_ms <= ts <= last_ms`` (all pages)."""
        lo, hi = sort_key_range(start_ms, last_ms)
        names = {"#pk": "metricId", "#sk": "timestamp", "#ttl": "ttl"}
        projection = []
        for i, attr in enumerate(attributes):
            names[f"#a{i}"] = attr
            projection.append(f"#a{i}")
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            "FilterExpression": "attribute_not_exists(#ttl) OR #ttl >= :now",
            "ProjectionExpression": ", ".join(projection),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {
                ":pk": {"S": f"{app_id}#{metric_name}"},
                ":lo": {"N": str(lo)}, ":hi": {"N": str(hi)},
                ":now": {"N": str(now_ms // 1000)},
            },
        }
        if self.page_limit:
            request["PaginationConfig"] = {"PageSize": self.page_limit}
        pages = self.clients.client("dynamodb").get_paginator("query").paginate(**request)
        return [item for page in pages for item in page.get("Items", [])]

    def metric_names(self, app: App) -> list[str]:
        pages = self.clients.client("cloudwatch").get_paginator("list_metrics").paginate(
            Namespace=app.namespace)
        names = {app.mau_metric}
        names.update(m["MetricName"] for page in pages for m in page.get("Metrics", []))
        return sorted(names)

    def metric_stats(self, app_id: str, metric_name: str, *, start_ms: int, end_ms: int,
                     period: int, stat: str, dims: str | None, now_ms: int,
                     dims_in: Sequence[str] | None = None) -> pd.DataFrame:
        items = self._query(app_id, metric_name, start_ms=start_ms, last_ms=end_ms - 1,
                            now_ms=now_ms, attributes=("ts_ms", "dims", "value"))
        points = pd.DataFrame({
            "ts_ms": [int(i["ts_ms"]["N"]) for i in items],
            "dims": [i.get("dims", {}).get("S", "") for i in items],
            "value": [float(i["value"]["N"]) for i in items],
        })
        if dims is not None:
            points = points[points["dims"] == dims]
        if dims_in is not None:
            points = points[points["dims"].isin(list(dims_in))]
        return aggregate_points(points, app_id=app_id, metric_name=metric_name,
                                start_ms=start_ms, period=period, stat=stat)

    def recent_points(self, app_id: str, metric_names: Sequence[str], *, since_ms: int,
                      until_ms: int, now_ms: int) -> pd.DataFrame:
        rows: list[tuple[object, ...]] = []
        for name in metric_names:
            for i in self._query(app_id, name, start_ms=since_ms, last_ms=until_ms,
                                 now_ms=now_ms, attributes=("ts_ms", "dims", "receivedAt",
                                                            "unit")):
                rows.append((name, i.get("dims", {}).get("S", ""), int(i["ts_ms"]["N"]),
                             int(i["receivedAt"]["N"]), i.get("unit", {}).get("S")))
        return pd.DataFrame(rows, columns=RECENT_COLUMNS)
