"""The dashboard's task-role policy, built from the table of AWS operations its code calls.

:mod:`analytics.core.permissions` lists every operation the dashboard makes with the IAM action
and the resources it needs (the client factory refuses any call missing from it); this module
turns each scope of that table into ARNs, so a new call and its permission ship together and
a test can check every recorded call against this policy. Read-only, and scoped wherever IAM
allows: the metrics table, Lambda log groups, the catalog's functions, tables and instances
(plus functions tagged with a catalog app's tag, for discovery), and API Gateway's read paths.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from analytics.core.permissions import SESSION_KEY_PREFIX, Scope, actions_for
from central_analytics.catalog import CatalogApp, all_lambda_names, all_of
from central_analytics.config import DeployConfig
from central_analytics.nag import acknowledge

TAG_KEY = "Application"
LAMBDA_LOG_GROUPS = "/aws/lambda/*"


def _arn(stack: cdk.Stack, cfg: DeployConfig, service: str, resource: str, name: str,
         fmt: cdk.ArnFormat = cdk.ArnFormat.SLASH_RESOURCE_NAME) -> str:
    return stack.format_arn(service=service, resource=resource, resource_name=name,
                            arn_format=fmt, region=cfg.region)


def log_group_arns(stack: cdk.Stack, cfg: DeployConfig) -> list[str]:
    """``/aws/lambda/*`` and the configured custom groups, in both ARN forms IAM matches
    StartQuery against (a trailing ``*`` already covers the ``:*`` form)."""
    arns = []
    for pattern in (LAMBDA_LOG_GROUPS, *cfg.log_group_patterns):
        base = _arn(stack, cfg, "logs", "log-group", pattern, cdk.ArnFormat.COLON_RESOURCE_NAME)
        arns += [base] if pattern.endswith("*") else [base, f"{base}:*"]
    return arns


def api_gateway_arns(cfg: DeployConfig) -> list[str]:
    """Every REST and HTTP API's read paths (``/restapis/<id>``, its stages, ``/apis/<id>``)."""
    return [f"arn:{cdk.Aws.PARTITION}:apigateway:{cfg.region}::{path}"
            for path in ("/restapis/*", "/apis/*")]


def scope_resources(cfg: DeployConfig, table: dynamodb.ITable,
                    apps: tuple[CatalogApp, ...]) -> dict[Scope, list[str]]:
    """The ARNs of each scope (an empty list: nothing to grant, e.g. no RDS in the catalog)."""
    stack = cdk.Stack.of(table)
    return {
        Scope.ANY: ["*"],
        Scope.METRICS_TABLE: [table.table_arn],
        Scope.APP_TABLES: [_arn(stack, cfg, "dynamodb", "table", t)
                           for t in all_of(apps, "dynamodb_tables")],
        Scope.LAMBDA_LOG_GROUPS: log_group_arns(stack, cfg),
        Scope.APP_FUNCTIONS: [_arn(stack, cfg, "lambda", "function", fn,
                                   cdk.ArnFormat.COLON_RESOURCE_NAME)
                              for fn in all_lambda_names(apps)],
        Scope.API_GATEWAY: api_gateway_arns(cfg),
        Scope.APP_DB_INSTANCES: [_arn(stack, cfg, "rds", "db", db,
                                      cdk.ArnFormat.COLON_RESOURCE_NAME)
                                 for db in all_of(apps, "rds_instances")],
        Scope.SESSION_ITEMS: [table.table_arn],
    }


#: Conditions a scope's statement carries besides its resources.
SCOPE_CONDITIONS: dict[Scope, dict[str, dict[str, list[str]]]] = {
    Scope.SESSION_ITEMS: {"ForAllValues:StringLike": {
        "dynamodb:LeadingKeys": [f"{SESSION_KEY_PREFIX}*"]}},
}


def task_role_statements(cfg: DeployConfig, table: dynamodb.ITable,
                         apps: tuple[CatalogApp, ...]) -> list[iam.PolicyStatement]:
    """One statement per scope of the permissions table, and one for tag-discovered functions.

    Functions found by the ``Application`` tag are not known at synth time: their configuration
    is readable only while they carry a catalog app's tag (``aws:ResourceTag`` condition).
    """
    statements = []
    for scope, resources in scope_resources(cfg, table, apps).items():
        actions = actions_for(scope)
        if actions and resources:
            sid = "".join(part.title() for part in scope.name.split("_"))
            statements.append(iam.PolicyStatement(sid=f"Read{sid}", actions=actions,
                                                  resources=resources,
                                                  conditions=SCOPE_CONDITIONS.get(scope)))
    tags = sorted({a.cost_tag for a in apps if a.cost_tag})
    if tags:
        statements.append(iam.PolicyStatement(
            sid="ReadTaggedAppFunctions", actions=actions_for(Scope.APP_FUNCTIONS),
            resources=[_arn(cdk.Stack.of(table), cfg, "lambda", "function", "*",
                            cdk.ArnFormat.COLON_RESOURCE_NAME)],
            conditions={"StringEquals": {f"aws:ResourceTag/{TAG_KEY}": tags}}))
    return statements


def acknowledge_wildcards(role: IConstruct, cfg: DeployConfig,
                          apps: tuple[CatalogApp, ...]) -> None:
    """The wildcard resources above, each with the reason it cannot be narrower."""
    region = cfg.region
    reasons = {
        "*": "CloudWatch GetMetricData/ListMetrics/DescribeAlarms(History), logs "
             "GetQueryResults/StopQuery, Cost Explorer reads and tag:GetResources have no "
             "resource-level permissions; the statement holds only these read actions.",
        f"arn:<AWS::Partition>:logs:{region}:<AWS::AccountId>:log-group:{LAMBDA_LOG_GROUPS}":
            "StartQuery on every Lambda log group: functions found by the Application tag are "
            "not known at deploy time, and a query only reads (scanned bytes are billed).",
        f"arn:<AWS::Partition>:lambda:{region}:<AWS::AccountId>:function:*":
            "GetFunctionConfiguration (log format, log group, SnapStart) only on functions "
            "tagged with a catalog app's Application tag (aws:ResourceTag condition).",
        f"arn:<AWS::Partition>:apigateway:{region}::/restapis/*":
            "apigateway:GET on REST APIs: names and stages of tag-discovered APIs, whose ids "
            "are not known at deploy time; GET is read-only.",
        f"arn:<AWS::Partition>:apigateway:{region}::/apis/*":
            "apigateway:GET on HTTP APIs: names of tag-discovered APIs, whose ids are not "
            "known at deploy time; GET is read-only.",
    }
    if not any(a.cost_tag for a in apps):
        del reasons[f"arn:<AWS::Partition>:lambda:{region}:<AWS::AccountId>:function:*"]
    for pattern in cfg.log_group_patterns:
        base = f"arn:<AWS::Partition>:logs:{region}:<AWS::AccountId>:log-group:{pattern}"
        wild = ([base] if "*" in pattern else []) + ([] if pattern.endswith("*")
                                                     else [f"{base}:*"])
        for arn in wild:
            reasons[arn] = (f"StartQuery on the operator-configured log groups {pattern} "
                            "(functions logging to a custom group); a query only reads.")
    for resource, reason in reasons.items():
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
