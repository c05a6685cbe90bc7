"""aws backend: custom business metrics from the ingest Lambda's DynamoDB table.

Reads are DynamoDB ``Query`` calls on one partition (``metricId = "<app>#<metricName>"``) with the
sort key between the bounds of :func:`analytics.custom_metrics.sort_key_range` (every dimension
set in the time range), paginated with ``LastEvaluatedKey``, projecting only the attributes the
answer needs and filtering items whose ``ttl`` has passed (DynamoDB deletes expired items up to
two days late, and until then they are still returned). Aggregation per period is done in pandas
by :func:`analytics.custom_metrics.aggregate_points`, the same rules as the local SQL.

Listing an app's metrics: the table's key cannot be queried by prefix and a Scan reads the whole
table, so the list comes from CloudWatch ``ListMetrics`` on the app's namespace — the Lambda's EMF
copy creates exactly one CloudWatch metric per custom metric there — plus the catalog's
``mau_metric``. It is metadata (no datapoints are read), paginated, and cached for 5 minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analytics.catalog import App
from analytics.custom_metrics import RECENT_COLUMNS, aggregate_points, sort_key_range

#: Items per Query page; None lets DynamoDB fill 1 MB pages. Tests lower it to exercise paging.
QUERY_PAGE_LIMIT: int | None = None


class AwsCustomMixin:
    """Mixed into :class:`analytics.backends.aws.AwsBackend`."""

    clients: Any  # AwsClients, set by AwsBackend

    def _custom_query(self, app_id: str, metric_name: str, start_ms: int, last_ms: int,
                      now_ms: int, attributes: Sequence[str]) -> list[dict[str, Any]]:
        """Every live item of one metric with ``start_ms <= ts <= last_ms`` (all pages)."""
        lo, hi = sort_key_range(start_ms, last_ms)
        names = {"#pk": "metricId", "#sk": "timestamp", "#ttl": "ttl"}
        projection = []
        for i, attr in enumerate(attributes):
            names[f"#a{i}"] = attr
            projection.append(f"#a{i}")
        request: dict[str, Any] = {
            "TableName": self.clients.settings.metrics_table,
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
        if QUERY_PAGE_LIMIT:
            request["Limit"] = QUERY_PAGE_LIMIT
        ddb = self.clients.client("dynamodb")
        items: list[dict[str, Any]] = []
        while True:
            page = ddb.query(**request)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return items
            request["ExclusiveStartKey"] = last

    def custom_metric_names(self, app: App) -> list[str]:
        cw = self.clients.client("cloudwatch")
        names = {app.mau_metric}
        request: dict[str, Any] = {"Namespace": app.namespace}
        while True:
            page = cw.list_metrics(**request)
            names.update(m["MetricName"] for m in page.get("Metrics", []))
            token = page.get("NextToken")
            if not token:
                return sorted(names)
            request["NextToken"] = token

    def custom_metric_stats(self, app_id: str, metric_name: str, start_ms: int, end_ms: int,
                            period: int, stat: str, dims: str | None,
                            now_ms: int) -> pd.DataFrame:
        items = self._custom_query(app_id, metric_name, start_ms, end_ms - 1, now_ms,
                                   ("ts_ms", "dims", "value"))
        points = pd.DataFrame({
            "ts_ms": [int(i["ts_ms"]["N"]) for i in items],
            "dims": [i.get("dims", {}).get("S", "") for i in items],
            "value": [float(i["value"]["N"]) for i in items],
        })
        if dims is not None:
            points = points[points["dims"] == dims]
        return aggregate_points(points, app_id, metric_name, start_ms, period, stat)

    def custom_recent_points(self, app_id: str, metric_names: Sequence[str], since_ms: int,
                             until_ms: int, now_ms: int) -> pd.DataFrame:
        rows: list[tuple[object, ...]] = []
        for name in metric_names:
            for i in self._custom_query(app_id, name, since_ms, until_ms, now_ms,
                                        ("ts_ms", "dims", "receivedAt", "unit")):
                rows.append((name, i.get("dims", {}).get("S", ""), int(i["ts_ms"]["N"]),
                             int(i["receivedAt"]["N"]), i.get("unit", {}).get("S")))
        return pd.DataFrame(rows, columns=RECENT_COLUMNS)
