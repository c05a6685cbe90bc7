"""Every AWS operation the dashboard calls: the IAM action it needs, on which resources, and why.

One table, three readers. The client factory refuses a call to an operation missing here (so a
new call cannot ship without its permission); the CDK app builds the dashboard's task role from
:data:`DASHBOARD`; the doctor makes one harmless call per action. The pipeline's steps and the
restore drill call through the same factory: their operations are declared in :data:`PIPELINE`
and :data:`OPERATOR`, granted by the pipeline stack's roles and an operator's credentials.
What a reader would get wrong: an IAM action is not always the operation's name — every
API Gateway read is ``apigateway:GET`` on a path ARN; STS's GetCallerIdentity needs none.
Stdlib only: the CDK app imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """Which resources an action is granted on (the CDK app turns each into ARNs)."""

    ANY = "*"  # the action has no resource-level permission
    METRICS_TABLE = "metrics-table"  # the custom-metrics table
    APP_TABLES = "app-tables"  # the catalog apps' DynamoDB tables
    LAMBDA_LOG_GROUPS = "lambda-log-groups"  # /aws/lambda/* and the configured custom groups
    APP_FUNCTIONS = "app-functions"  # catalog functions, and functions tagged with an app's tag
    API_GATEWAY = "api-gateway"  # /restapis/* and /apis/* (names and stages, read only)
    APP_DB_INSTANCES = "app-db-instances"  # the catalog apps' RDS instances
    NONE = "none"  # no permission needed
    ROLLUPS_TABLE = "rollups-table"  # the pipeline's rollups and run records
    REPORTS_BUCKET = "reports-bucket"  # delivered packs and staged step outputs
    ALARM_TOPIC = "alarm-topic"  # the stack's SNS topic
    PIPELINE_STATE_MACHINE = "pipeline-state-machine"  # the Step Functions pipeline
    OPERATOR = "operator"  # not granted to any role of the stack: an operator runs it
    SESSION_ITEMS = "session-items"  # the metrics table's sign-out deny-list items only
    CACHE_TIER = "cache-tier"  # the stack's ElastiCache Serverless cache and its one user


#: The deny-list of signed-out sessions lives in the metrics table under this key prefix; the
#: task role may read and write those items and no others (``dynamodb:LeadingKeys``).
SESSION_KEY_PREFIX = "_session#"


@dataclass(frozen=True)
class Permission:
    """One operation as the client factory names it (``"<botocore service>.<Operation>"``)."""

    operation: str
    action: str
    scopes: tuple[Scope, ...]
    used_for: str

    @property
    def service(self) -> str:
        return self.operation.partition(".")[0]


def _p(operation: str, action: str, used_for: str, *scopes: Scope) -> Permission:
    return Permission(operation, action, scopes or (Scope.ANY,), used_for)


DASHBOARD: tuple[Permission, ...] = (
    _p("cloudwatch.GetMetricData", "cloudwatch:GetMetricData", "every chart and tile"),
    _p("cloudwatch.ListMetrics", "cloudwatch:ListMetrics",
       "custom metric names; the doctor's bucket and billing-metric checks"),
    _p("cloudwatch.DescribeAlarms", "cloudwatch:DescribeAlarms", "the Alarms page and badge"),
    _p("cloudwatch.DescribeAlarmHistory", "cloudwatch:DescribeAlarmHistory",
       "an alarm's state changes"),
    _p("resourcegroupstaggingapi.GetResources", "tag:GetResources",
       "resources and alarms found by tag"),
    _p("logs.StartQuery", "logs:StartQuery", "cold starts (Logs Insights)",
       Scope.LAMBDA_LOG_GROUPS),
    _p("logs.GetQueryResults", "logs:GetQueryResults", "cold starts (Logs Insights)"),
    _p("logs.StopQuery", "logs:StopQuery",
       "stop a timed-out query so it no longer scans (and bills)"),
    _p("lambda.GetFunctionConfiguration", "lambda:GetFunctionConfiguration",
       "each function's log format, log group and SnapStart", Scope.APP_FUNCTIONS),
    _p("apigateway.GetRestApi", "apigateway:GET", "REST API names (their metrics' key)",
       Scope.API_GATEWAY),
    _p("apigateway.GetStages", "apigateway:GET", "REST API stages", Scope.API_GATEWAY),
    _p("apigatewayv2.GetApi", "apigateway:GET", "HTTP API names", Scope.API_GATEWAY),
    _p("apigatewayv2.GetStages", "apigateway:GET", "the doctor: HTTP API stages exist",
       Scope.API_GATEWAY),
    _p("dynamodb.Query", "dynamodb:Query",
       "custom metrics (the pipeline stack grants the same on its rollups table)",
       Scope.METRICS_TABLE),
    _p("dynamodb.GetItem", "dynamodb:GetItem",
       "every run of a signed-in session: was it signed out?", Scope.SESSION_ITEMS),
    _p("dynamodb.PutItem", "dynamodb:PutItem", "sign-out: revoke the session until it expires",
       Scope.SESSION_ITEMS),
    _p("dynamodb.DescribeTable", "dynamodb:DescribeTable",
       "the doctor: the metrics table's keys; catalog tables exist",
       Scope.METRICS_TABLE, Scope.APP_TABLES),
    _p("dynamodb.DescribeTimeToLive", "dynamodb:DescribeTimeToLive",
       "the doctor: the metrics table's TTL", Scope.METRICS_TABLE),
    _p("dynamodb.DescribeContinuousBackups", "dynamodb:DescribeContinuousBackups",
       "the doctor: the metrics table's point-in-time recovery", Scope.METRICS_TABLE),
    _p("rds.DescribeDBInstances", "rds:DescribeDBInstances",
       "the doctor: catalog RDS instances exist", Scope.APP_DB_INSTANCES),
    _p("ce.GetCostAndUsage", "ce:GetCostAndUsage", "the Costs page"),
    _p("ce.GetCostForecast", "ce:GetCostForecast", "the Costs page's forecasts"),
    _p("ce.GetAnomalies", "ce:GetAnomalies", "the Costs page's anomalies"),
    _p("ce.ListCostAllocationTags", "ce:ListCostAllocationTags",
       "whether the Application tag is an active cost-allocation tag"),
    _p("sts.GetCallerIdentity", "sts:GetCallerIdentity", "the doctor: who is calling",
       Scope.NONE),
)

#: The shared cache tier's sign-in (ElastiCache IAM authentication): not a botocore call but a
#: SigV4-signed token (analytics.core.cache_auth); granted by the cache construct of the stack.
CACHE_TIER: tuple[Permission, ...] = (
    _p("elasticache.Connect", "elasticache:Connect",
       "sign in to the shared cache tier with the task role (no password)", Scope.CACHE_TIER),
)

#: The batch pipeline (its Lambda steps, and the dashboard's Pipeline page for the reads and
#: the backfill): granted by the roles of the pipeline stack (infra/cdk .../pipeline.py).
PIPELINE: tuple[Permission, ...] = (
    _p("dynamodb.BatchWriteItem", "dynamodb:BatchWriteItem", "store a day's rollups",
       Scope.ROLLUPS_TABLE),
    _p("dynamodb.PutItem", "dynamodb:PutItem", "store a pipeline run record",
       Scope.ROLLUPS_TABLE),
    _p("s3.PutObject", "s3:PutObject", "deliver a pack; stage a step's output",
       Scope.REPORTS_BUCKET),
    _p("s3.GetObject", "s3:GetObject", "read a staged step output; open a delivered pack",
       Scope.REPORTS_BUCKET),
    _p("s3.DeleteObject", "s3:DeleteObject", "drop a staged step output",
       Scope.REPORTS_BUCKET),
    _p("s3.ListObjectsV2", "s3:ListBucket", "list the delivered packs", Scope.REPORTS_BUCKET),
    _p("sns.Publish", "sns:Publish", "a pack's summary with its link", Scope.ALARM_TOPIC),
    _p("stepfunctions.StartExecution", "states:StartExecution", "the Pipeline page's backfill",
       Scope.PIPELINE_STATE_MACHINE),
)

#: The restore drill (``python -m analytics.dr drill``): run with an operator's credentials,
#: never granted to the dashboard.
OPERATOR: tuple[Permission, ...] = (
    _p("dynamodb.RestoreTableToPointInTime", "dynamodb:RestoreTableToPointInTime",
       "the drill's restore into a new table", Scope.OPERATOR),
    _p("dynamodb.Scan", "dynamodb:Scan", "the drill counts and samples items", Scope.OPERATOR),
    _p("dynamodb.BatchGetItem", "dynamodb:BatchGetItem", "the drill compares a sample",
       Scope.OPERATOR),
    _p("dynamodb.DeleteTable", "dynamodb:DeleteTable", "the drill deletes its restored copy",
       Scope.OPERATOR),
)

#: The read API's AppSync Lambda (infra/functions/api_resolvers): the dashboard's operations
#: its resolvers reach (metrics, tag discovery of an app's resources, custom metrics, costs),
#: granted to its role by the CDK app; it writes through the ingest handler (ingest/permissions).
API_OPERATIONS = frozenset({
    "cloudwatch.GetMetricData", "cloudwatch.ListMetrics", "resourcegroupstaggingapi.GetResources",
    "apigateway.GetRestApi", "apigateway.GetStages", "apigatewayv2.GetApi", "dynamodb.Query",
    "ce.GetCostAndUsage", "ce.GetCostForecast", "ce.GetAnomalies", "ce.ListCostAllocationTags",
})
API: tuple[Permission, ...] = tuple(p for p in DASHBOARD if p.operation in API_OPERATIONS)

#: An operation declared twice keeps its first (dashboard) entry: the lookup only asks
#: whether a call is declared at all.
_BY_OPERATION = {p.operation: p for p in (*OPERATOR, *PIPELINE, *DASHBOARD)}


#: Error codes meaning "the caller may not": a permission problem, never "no data".
DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                "UnauthorizedException", "Forbidden", "ForbiddenException",
                "AuthorizationError", "NotAuthorized")


class UndeclaredAwsCall(RuntimeError):
    """The code called an AWS operation this table does not list (so no role grants it)."""


def permission_of(operation: str) -> Permission:
    """The declared permission of ``operation``; :class:`UndeclaredAwsCall` if none."""
    try:
        return _BY_OPERATION[operation]
    except KeyError:
        raise UndeclaredAwsCall(
            f"{operation} is not declared in analytics/core/permissions.py: add it there "
            "(the task role is built from that table) before calling it") from None


def actions_for(scope: Scope, table: tuple[Permission, ...] = DASHBOARD) -> list[str]:
    """The IAM actions ``table`` (the dashboard's by default) needs on ``scope``, sorted."""
    return sorted({p.action for p in table if scope in p.scopes})
