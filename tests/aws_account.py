"""A moto server started by the test, and an account seeded like a small real one.

The server (``moto.server.ThreadedMotoServer``, a real HTTP endpoint on a free port) is what the
dashboard's aws backend talks to through ``AWS_ENDPOINT_URL``, with real botocore clients. The
seed holds two apps' resources (a REST API with a stage, HTTP APIs with and without a named
stage, functions, a table, a DB instance, a bucket), their CloudWatch datapoints, alarms, a
custom-metrics table with points, a log group and Cost Explorer results, and remembers every
number it put so tests can compare what the pages show.

What moto lacks is patched here, in the server's process, and nowhere else (see
:func:`patch_moto_gaps`): percentile statistics and DescribeAlarmHistory. Everything else moto
does not implement (Cost Explorer forecasts, anomalies and cost-allocation tags, Logs Insights'
StopQuery) is left missing, and the pages and the doctor must say so.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from moto.cloudwatch import models as cw_models
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.server import ThreadedMotoServer

from analytics.core.catalog import Catalog, parse_catalog
from analytics.core.clock import ManualClock
from analytics.metrics.queries import percentile_of
from ingest.keys import build_item
from ingest.sinks import to_attribute_values
from tests.conftest import NOW
from tests.fake_endpoint import free_port

REGION = "us-east-1"
TABLE = "central-analytics-metrics"
ROLLUPS_TABLE = "central-analytics-rollups"  # the settings' default
REST_ID = "shoprest01"
#: The window every datapoint is put in: inside the default 3-hour range before the account's
#: ``now`` (the runtime reading it runs on :meth:`Account.clock`, stopped at that ``now``).
FIRST, STEP, POINTS = timedelta(minutes=100), timedelta(minutes=5), 6


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1, stopped afterwards."""
    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"),
                           timeout=10).close()


def client(url: str, service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=url,  # type: ignore[call-overload]
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def server_env(url: str, **extra: str) -> dict[str, str]:
    """The variables that point the aws backend at the server."""
    return {"ANALYTICS_BACKEND": "aws", "AWS_REGION": REGION, "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "METRICS_TABLE": TABLE, **extra}


# -- what moto lacks, patched visibly --------------------------------------------------------

def _with_percentiles(self: Any, stat: str) -> Any:
    """moto computes Sum/Average/Minimum/Maximum/SampleCount only: add pNN (linear)."""
    q = percentile_of(stat)
    if q is None:
        return _BASIC(self, stat)
    return float(np.percentile(self.metric_single_values_list, q))


_BASIC = cw_models.Statistics.get_statistics_for_type


def _alarm_history(self: CloudWatchResponse) -> ActionResult:
    """moto keeps each alarm's state updates but has no DescribeAlarmHistory: serve them."""
    name = self._get_param("AlarmName")
    items = []
    for alarm in self.cloudwatch_backend.alarms.values():
        if name and alarm.name != name:
            continue
        states = [(h[3], h[4]) for h in alarm.history if h[0] == "StateUpdate"]
        states.append((alarm.state_value, alarm.state_updated_timestamp))
        for (old, _), (new, at) in itertools.pairwise(states):
            items.append({"AlarmName": alarm.name, "AlarmType": "MetricAlarm", "Timestamp": at,
                          "HistoryItemType": "StateUpdate",
                          "HistorySummary": f"Alarm updated from {old} to {new}",
                          "HistoryData": json.dumps({"oldState": {"stateValue": old},
                                                     "newState": {"stateValue": new}})})
    return ActionResult({"AlarmHistoryItems": items})


def patch_moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Percentiles and DescribeAlarmHistory, the two gaps the pages cannot do without."""
    monkeypatch.setattr(cw_models.Statistics, "get_statistics_for_type", _with_percentiles)
    monkeypatch.setattr(CloudWatchResponse, "describe_alarm_history", _alarm_history,
                        raising=False)


# -- the seeded account ----------------------------------------------------------------------

@dataclass
class Account:
    """What was put, to compare with what the pages show."""

    url: str
    catalog: Catalog
    now: datetime
    http_ids: dict[str, str]
    #: (namespace, metric, dims) -> values put (at FIRST before now, every STEP).
    series: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[float]] = field(
        default_factory=dict)
    custom: dict[str, list[float]] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)  # app -> last month's spend

    def clock(self) -> ManualClock:
        """A clock stopped at :attr:`now`, for the runtime (and cache) that reads this account."""
        return ManualClock(self.now)

    def total(self, metric: str, **dims: str) -> float:
        want = tuple(sorted(dims.items()))
        return sum(sum(v) for (_, m, d), v in self.series.items() if m == metric and d == want)


def catalog_toml(http_shop: str, http_blog: str) -> str:
    """The seeded account's apps.toml (what an operator would write for it)."""
    return f"""
[apps.shop]
display_name = "Shop"
cost_tag = "shop"
namespace = "Shop/Business"
slo_p95_ms = 300
monthly_budget_usd = 500.0
alarm_prefix = "shop-"

[apps.shop.resources]
apis = [
  {{ id = "{REST_ID}", name = "shop-public", kind = "rest", stage = "prod" }},
  {{ id = "{http_shop}", name = "shop-internal", kind = "http", stage = "live" }},
]
lambdas = ["shop-checkout", "shop-search"]
dynamodb_tables = ["shop-orders"]
rds_instances = ["shop-db"]
s3_buckets = ["shop-assets"]

[apps.blog]
display_name = "Blog"
cost_tag = "blog"
namespace = "Blog/Business"
alarm_prefix = "blog-"

[apps.blog.resources]
apis = [{{ id = "{http_blog}", name = "blog-api", kind = "http" }}]
lambdas = ["blog-render"]
"""


def _catalog(http_shop: str, http_blog: str) -> Catalog:
    apps = {
        "shop": {"display_name": "Shop", "cost_tag": "shop", "namespace": "Shop/Business",
                 "slo_p95_ms": 300, "monthly_budget_usd": 500.0, "alarm_prefix": "shop-",
                 "resources": {
                     "apis": [{"id": REST_ID, "name": "shop-public", "kind": "rest",
                               "stage": "prod"},
                              {"id": http_shop, "name": "shop-internal", "kind": "http",
                               "stage": "live"}],
                     "lambdas": ["shop-checkout", "shop-search"],
                     "dynamodb_tables": ["shop-orders"], "rds_instances": ["shop-db"],
                     "s3_buckets": ["shop-assets"]}},
        "blog": {"display_name": "Blog", "cost_tag": "blog", "namespace": "Blog/Business",
                 "alarm_prefix": "blog-",
                 "resources": {"apis": [{"id": http_blog, "name": "blog-api", "kind": "http"}],
                               "lambdas": ["blog-render"]}},
    }
    return parse_catalog({"apps": apps}, Path("moto-apps.toml"))


def _resources(url: str) -> tuple[str, str]:
    gw = client(url, "apigateway")
    rest = gw.create_rest_api(name="shop-public", tags={"_custom_id_": REST_ID})["id"]
    root = gw.get_resources(restApiId=rest)["items"][0]["id"]
    gw.put_method(restApiId=rest, resourceId=root, httpMethod="GET", authorizationType="NONE")
    gw.put_integration(restApiId=rest, resourceId=root, httpMethod="GET", type="MOCK")
    gw.create_deployment(restApiId=rest, stageName="prod")
    v2 = client(url, "apigatewayv2")
    shop = v2.create_api(Name="shop-internal", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=shop, StageName="live")
    blog = v2.create_api(Name="blog-api", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=blog, StageName="$default")
    role = client(url, "iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("h.py", "def h(event, context):\n    return 1\n")
    lam, logs = client(url, "lambda"), client(url, "logs")
    for fn in ("shop-checkout", "shop-search", "blog-render"):
        lam.create_function(FunctionName=fn, Runtime="python3.12", Handler="h.h",
                            Role=role["Role"]["Arn"], Code={"ZipFile": code.getvalue()})
        logs.create_log_group(logGroupName=f"/aws/lambda/{fn}")
    ddb = client(url, "dynamodb")
    ddb.create_table(TableName="shop-orders", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    client(url, "rds").create_db_instance(
        DBInstanceIdentifier="shop-db", DBInstanceClass="db.t4g.micro", Engine="postgres",
        MasterUsername="admin_user", MasterUserPassword="not-a-secret-1", AllocatedStorage=20)
    client(url, "s3").create_bucket(Bucket="shop-assets")
    return shop, blog


def metrics_table(url: str, *, pitr: bool = True) -> None:
    """The stack's custom-metrics table: metricId (S) + timestamp (N), TTL on ttl, PITR."""
    ddb = client(url, "dynamodb")
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                                {"AttributeName": "timestamp", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "metricId", "AttributeType": "S"},
                                           {"AttributeName": "timestamp",
                                            "AttributeType": "N"}])
    ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "ttl"})
    if pitr:
        ddb.update_continuous_backups(TableName=TABLE, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True})
    # the pipeline stack's rollups table (pk, sk), empty: no day has been rolled up yet
    ddb.create_table(TableName=ROLLUPS_TABLE, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])


def _put(account: Account, ns: str, name: str, dims: dict[str, str], values: list[float],
         *, unit: str | None = None) -> None:
    stamps = [account.now - FIRST + i * STEP for i in range(len(values))]
    data = [{"MetricName": name, "Value": v, "Timestamp": t,
             "Dimensions": [{"Name": k, "Value": val} for k, val in dims.items()],
             **({"Unit": unit} if unit else {})} for t, v in zip(stamps, values, strict=True)]
    client(account.url, "cloudwatch").put_metric_data(Namespace=ns, MetricData=data)
    account.series[(ns, name, tuple(sorted(dims.items())))] = values


def _datapoints(account: Account) -> None:
    rest = {"ApiName": "shop-public", "Stage": "prod"}
    shop_http = {"ApiId": account.http_ids["shop"], "Stage": "live"}
    blog_http = {"ApiId": account.http_ids["blog"]}  # no stage named: ApiId alone
    for dims, base in ((rest, 100.0), (shop_http, 40.0), (blog_http, 10.0)):
        http = "Stage" not in dims or "ApiId" in dims
        _put(account, "AWS/ApiGateway", "Count", dims, [base + i for i in range(POINTS)])
        _put(account, "AWS/ApiGateway", "5xx" if http else "5XXError", dims,
             [float(i % 2) for i in range(POINTS)])
        _put(account, "AWS/ApiGateway", "4xx" if http else "4XXError", dims, [2.0] * POINTS)
        _put(account, "AWS/ApiGateway", "Latency", dims, [80.0 + 10 * i for i in range(POINTS)])
    for n, fn in enumerate(("shop-checkout", "shop-search", "blog-render")):
        fd = {"FunctionName": fn}
        _put(account, "AWS/Lambda", "Invocations", fd, [50.0] * POINTS)
        _put(account, "AWS/Lambda", "Errors", fd, [float(n + 1)] * POINTS)
        _put(account, "AWS/Lambda", "Throttles", fd, [float(n)] * POINTS)
        _put(account, "AWS/Lambda", "Duration", fd, [120.0 + 5 * i for i in range(POINTS)])
        _put(account, "AWS/Lambda", "ConcurrentExecutions", fd, [3.0] * POINTS)
    table = {"TableName": "shop-orders"}
    _put(account, "AWS/DynamoDB", "ReadThrottleEvents", table, [1.0, 0, 2, 0, 0, 1])
    _put(account, "AWS/DynamoDB", "WriteThrottleEvents", table, [0.0, 3, 0, 0, 1, 0])
    _put(account, "AWS/DynamoDB", "ConsumedReadCapacityUnits", table, [600.0] * POINTS)
    _put(account, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", table, [300.0] * POINTS)
    _put(account, "AWS/DynamoDB", "SuccessfulRequestLatency",
         {"Operation": "Query", "TableName": "shop-orders"}, [4.0] * POINTS)
    _put(account, "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "shop-db"},
         [35.0] * POINTS)
    # S3 sizes are daily: yesterday 00:00 UTC, in two storage classes
    day = account.now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    for storage, size in (("StandardStorage", 6e9), ("StandardIAStorage", 4e9)):
        client(account.url, "cloudwatch").put_metric_data(Namespace="AWS/S3", MetricData=[{
            "MetricName": "BucketSizeBytes", "Value": size, "Timestamp": day,
            "Dimensions": [{"Name": "BucketName", "Value": "shop-assets"},
                           {"Name": "StorageType", "Value": storage}]}])


def _alarms(account: Account) -> None:
    cw = client(account.url, "cloudwatch")
    for name, fn, state in (("shop-checkout-errors", "shop-checkout", "ALARM"),
                            ("shop-search-errors", "shop-search", "OK"),
                            ("blog-render-errors", "blog-render", "INSUFFICIENT_DATA")):
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors",
                            Dimensions=[{"Name": "FunctionName", "Value": fn}], Statistic="Sum",
                            Period=300, EvaluationPeriods=1, Threshold=1.0,
                            ComparisonOperator="GreaterThanOrEqualToThreshold")
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"test: {state}")


def _billing(account: Account) -> None:
    """Billing alerts on (AWS/Billing exists in us-east-1) and the stack's HighCost alarm."""
    cw = client(account.url, "cloudwatch")
    dims = [{"Name": "Currency", "Value": "USD"}]
    cw.put_metric_data(Namespace="AWS/Billing", MetricData=[{
        "MetricName": "EstimatedCharges", "Dimensions": dims, "Value": 42.0,
        "Timestamp": account.now - timedelta(hours=1)}])
    cw.put_metric_alarm(AlarmName="central-analytics-HighCost", Namespace="AWS/Billing",
                        MetricName="EstimatedCharges", Dimensions=dims, Statistic="Maximum",
                        Period=21600, EvaluationPeriods=1, Threshold=1000.0,
                        ComparisonOperator="GreaterThanThreshold")


def _custom(account: Account) -> None:
    """Points in the metrics table (as the ingest Lambda writes them) and the EMF copy's
    metric in CloudWatch, which is how the aws backend lists an app's custom metrics."""
    ddb = client(account.url, "dynamodb")
    now_ms = int(account.now.timestamp() * 1000)
    values = [3.0, 5.0, 4.0]
    for i, v in enumerate(values):
        ts = now_ms - (10 - i) * 60_000
        item = build_item(app="shop", metric_name="Orders", value=v, unit="Count",
                          dimensions=[], ts_ms=ts, received_at_ms=ts + 40, retention_days=90)
        ddb.put_item(TableName=TABLE, Item=to_attribute_values(item))
    client(account.url, "cloudwatch").put_metric_data(Namespace="Shop/Business", MetricData=[
        {"MetricName": "Orders", "Value": 1.0, "Unit": "Count",
         "Timestamp": account.now - timedelta(minutes=30)}])
    account.custom["Orders"] = values


def _costs(account: Account) -> None:
    """One GetCostAndUsage answer (moto's queue): days of last month, per service and tag."""
    first = (account.now.replace(day=1) - timedelta(days=1)).replace(day=1).date()
    days = [first + timedelta(days=d) for d in (0, 1, 2)]
    spend = {"shop": [12.5, 7.25, 3.0], "blog": [1.5, 0.5, 2.0]}
    results = [{"TimePeriod": {"Start": d.isoformat(),
                               "End": (d + timedelta(days=1)).isoformat()},
                "Total": {}, "Estimated": False,
                "Groups": [{"Keys": ["AWS Lambda", f"Application${app}"],
                            "Metrics": {"UnblendedCost": {"Amount": str(v[i]), "Unit": "USD"}}}
                           for app, v in spend.items()]} for i, d in enumerate(days)]
    body = json.dumps({"results": [{"ResultsByTime": results, "GroupDefinitions": [
        {"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": "Application"}]}]})
    urllib.request.urlopen(urllib.request.Request(
        f"{account.url}/moto-api/static/ce/cost-and-usage-results", data=body.encode(),
        method="POST"), timeout=10).close()
    account.costs = {app: sum(v) for app, v in spend.items()}


def seed_account(url: str, *, now: datetime | None = None, with_costs: bool = True) -> Account:
    """Reset the server and put the whole account in it, around ``now`` (default: the suite's
    frozen NOW; moto itself still stamps alarm state changes with the wall clock)."""
    reset(url)
    shop, blog = _resources(url)
    metrics_table(url)
    account = Account(url, _catalog(shop, blog), now or NOW,
                      {"shop": shop, "blog": blog})
    _datapoints(account)
    _alarms(account)
    _billing(account)
    _custom(account)
    if with_costs:
        _costs(account)
    return account
