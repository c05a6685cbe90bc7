"""One dry call per IAM action of the permissions table: the doctor's IAM rows.

Every action the dashboard's code needs (:data:`analytics.core.permissions.DASHBOARD`) gets a
row; :data:`PROBES` says which harmless call proves it, on which resource. The logs actions are
proved by the Logs Insights test query instead (a query has to be started to be read or
stopped). A test holds the two lists to the table, so a new action cannot ship without its
dry call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from analytics.core.catalog import Catalog
from analytics.core.periods import align_down
from analytics.core.permissions import DASHBOARD, SESSION_KEY_PREFIX, Scope
from analytics.core.settings import Settings
from analytics.doctor.calls import Calls, action_row
from analytics.doctor.checks import Check, passed, warned

LOGS_ACTIONS = ("logs:StartQuery", "logs:GetQueryResults", "logs:StopQuery")
TAG_KEY = "Application"


@dataclass(frozen=True)
class Target:
    """What to call: ``service.method(**params)``, described as ``where``."""

    service: str
    method: str
    params: dict[str, Any]
    where: str = ""


@dataclass(frozen=True)
class Ctx:
    catalog: Catalog
    settings: Settings
    now: datetime

    @property
    def today(self) -> str:
        return self.now.date().isoformat()

    @property
    def yesterday(self) -> str:
        return (self.now.date() - timedelta(days=1)).isoformat()


#: A target, or (passed?, why nothing was called).
Probe = Callable[[Ctx], "Target | tuple[bool, str]"]


def _metric_data(ctx: Ctx) -> Target:
    end = align_down(ctx.now, 60)
    return Target("cloudwatch", "get_metric_data", {
        "MetricDataQueries": [{"Id": "m0", "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"},
            "Period": 60, "Stat": "Sum"}}],
        "StartTime": end - timedelta(minutes=5), "EndTime": end})


def _function(ctx: Ctx) -> Target | tuple[bool, str]:
    fns = [fn for a in ctx.catalog.apps for fn in a.resources.lambdas]
    if not fns:
        return False, "not tried: no function in the catalog"
    return Target("lambda", "get_function_configuration", {"FunctionName": fns[0]},
                  f"on {fns[0]}")


def _api(ctx: Ctx) -> Target | tuple[bool, str]:
    apis = [api for a in ctx.catalog.apps for api in a.resources.apis]
    if not apis:
        return False, "not tried: no API in the catalog"
    api = apis[0]
    if api.kind == "rest":
        return Target("apigateway", "get_rest_api", {"restApiId": api.id}, f"on {api.id}")
    return Target("apigatewayv2", "get_api", {"ApiId": api.id}, f"on {api.id}")


def _db(ctx: Ctx) -> Target | tuple[bool, str]:
    dbs = [db for a in ctx.catalog.apps for db in a.resources.rds_instances]
    if not dbs:
        return True, "not needed: no RDS instance in the catalog"
    return Target("rds", "describe_db_instances", {"DBInstanceIdentifier": dbs[0]},
                  f"on {dbs[0]}")


#: A sign-out deny-list key no session ever has: the only items the task role may get or put.
_PROBE_SESSION = {"metricId": {"S": f"{SESSION_KEY_PREFIX}doctor-probe"}, "timestamp": {"N": "0"}}


def _table(method: str) -> Probe:
    return lambda ctx: Target("dynamodb", method, {"TableName": ctx.settings.metrics_table},
                              f"on {ctx.settings.metrics_table}")


PROBES: dict[str, Probe] = {
    "cloudwatch:GetMetricData": _metric_data,
    "cloudwatch:ListMetrics": lambda ctx: Target(
        "cloudwatch", "list_metrics", {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}),
    "cloudwatch:DescribeAlarms": lambda ctx: Target(
        "cloudwatch", "describe_alarms", {"MaxRecords": 1}),
    "cloudwatch:DescribeAlarmHistory": lambda ctx: Target(
        "cloudwatch", "describe_alarm_history", {"MaxRecords": 1}),
    "tag:GetResources": lambda ctx: Target(
        "resourcegroupstaggingapi", "get_resources",
        {"TagFilters": [{"Key": TAG_KEY}], "ResourcesPerPage": 1}),
    "lambda:GetFunctionConfiguration": _function,
    "apigateway:GET": _api,
    "dynamodb:Query": lambda ctx: Target("dynamodb", "query", {
        "TableName": ctx.settings.metrics_table, "KeyConditionExpression": "metricId = :p",
        "ExpressionAttributeValues": {":p": {"S": "doctor#probe"}}, "Limit": 1},
        f"on {ctx.settings.metrics_table}"),
    "dynamodb:GetItem": lambda ctx: Target("dynamodb", "get_item", {
        "TableName": ctx.settings.metrics_table, "Key": _PROBE_SESSION},
        f"on {ctx.settings.metrics_table} (a sign-out deny-list key)"),
    # refused by its condition when allowed: proves the write permission, writes nothing
    "dynamodb:PutItem": lambda ctx: Target("dynamodb", "put_item", {
        "TableName": ctx.settings.metrics_table, "Item": _PROBE_SESSION,
        "ConditionExpression": "attribute_exists(metricId)"},
        f"on {ctx.settings.metrics_table} (a sign-out deny-list key, conditional: no write)"),
    "dynamodb:DescribeTable": _table("describe_table"),
    "dynamodb:DescribeTimeToLive": _table("describe_time_to_live"),
    "dynamodb:DescribeContinuousBackups": _table("describe_continuous_backups"),
    "rds:DescribeDBInstances": _db,
    "ce:GetCostAndUsage": lambda ctx: Target("ce", "get_cost_and_usage", {
        "TimePeriod": {"Start": ctx.yesterday, "End": ctx.today}, "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"]}),
    "ce:GetCostForecast": lambda ctx: Target("ce", "get_cost_forecast", {
        "TimePeriod": {"Start": ctx.today, "End": (ctx.now.date() + timedelta(days=1))
                       .isoformat()}, "Metric": "UNBLENDED_COST", "Granularity": "DAILY"}),
    "ce:GetAnomalies": lambda ctx: Target("ce", "get_anomalies", {
        "DateInterval": {"StartDate": ctx.yesterday, "EndDate": ctx.today}, "MaxResults": 1}),
    "ce:ListCostAllocationTags": lambda ctx: Target(
        "ce", "list_cost_allocation_tags", {"TagKeys": [TAG_KEY], "Type": "UserDefined"}),
}


def needed_actions() -> list[str]:
    """The IAM actions of the table, once each, in table order (no-permission ones left out)."""
    return list(dict.fromkeys(p.action for p in DASHBOARD if Scope.NONE not in p.scopes))


def iam_rows(call: Calls, catalog: Catalog, *, settings: Settings, now: datetime,
             logs: Mapping[str, Check]) -> list[Check]:
    """One row per action: its dry call's outcome (the logs actions: the test query's)."""
    ctx = Ctx(catalog, settings, now)
    rows = []
    for action in needed_actions():
        if action in LOGS_ACTIONS:
            rows.append(logs.get(action) or warned(action, "not tried"))
            continue
        probe = PROBES.get(action)
        if probe is None:
            rows.append(warned(action, "no dry call is defined for this action",
                               "add one to analytics/doctor/probes.py"))
            continue
        target = probe(ctx)
        if isinstance(target, tuple):
            ok, why = target
            rows.append(passed(action, why) if ok else warned(action, why))
            continue
        outcome = call(target.service, target.method, **target.params)
        rows.append(action_row(action, outcome, target.where))
    return rows
