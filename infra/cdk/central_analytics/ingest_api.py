"""The ingest path: an IAM-authorized HTTP API in front of a Python Lambda that writes metrics.

Why IAM (SigV4) and not an API key or a JWT authorizer: every publisher is itself an AWS workload
with a role, so SigV4 needs no shared secret to distribute or rotate, access is granted by
attaching the managed policy this construct creates, and CloudTrail/access logs name the caller.
Powertools comes from AWS's public layer, so synthesis never needs Docker bundling.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_authorizers import HttpIamAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from central_analytics.catalog import CatalogApp, app_namespaces, ingest_caps, ingest_principals
from central_analytics.config import POWERTOOLS_ACCOUNT, REPO_ROOT, DeployConfig
from ingest.budget import LAMBDA_TIMEOUT_S
from ingest.permissions import REGISTRY_OPERATIONS, TABLE_OPERATIONS

#: The Lambda root: every folder under it is a package; this function runs ``ingest``.
FUNCTIONS_DIR = REPO_ROOT / "infra" / "functions"
# pipeline/ is the pipeline Lambda's package: it ships in its own container image (pipeline.py).
ASSET_EXCLUDES = ["tests", "tests/**", "**/__pycache__", "__pycache__", "*.pyc", ".pytest_cache",
                  "pipeline", "pipeline/**"]
HANDLER = "ingest.app.lambda_handler"  # infra/functions/ingest/app.py
STAGE_NAME = "$default"
#: What the function's code calls on the table (ingest/permissions.py), nothing more.
TABLE_WRITE_ACTIONS = sorted(set(TABLE_OPERATIONS.values()))
REGISTRY_ACTIONS = sorted(set(REGISTRY_OPERATIONS.values()))
REGISTRY_PREFIX = "_series#"  # ingest.registry.PREFIX (the Lambda package is not imported here)
POWERTOOLS_SERVICE_NAME = "central-analytics-ingest"
POWERTOOLS_METRICS_NAMESPACE = "CentralAnalytics/Ingest"

# One JSON object per request; identity.userArn is the SigV4 caller, which is the point of IAM.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.userArn",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    },
    separators=(",", ":"),
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """``IAccessLogSettings`` is a jsii interface, not a struct: Python must implement it."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        """The stage's access-log group."""
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        """One JSON object per request (queryable with Logs Insights without parsing)."""
        return apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT)


def newest_python_runtime() -> lambda_.Runtime:
    """The newest Python runtime this aws-cdk-lib knows (3.14 in 2.275, else 3.13)."""
    for name in ("PYTHON_3_14", "PYTHON_3_13"):
        runtime = getattr(lambda_.Runtime, name, None)
        if runtime is not None:
            return runtime
    raise RuntimeError("aws-cdk-lib too old: no Python 3.13+ Lambda runtime")


def powertools_layer_arn(cfg: DeployConfig, runtime: lambda_.Runtime) -> str:
    """AWS's public Powertools v3 layer for this runtime on arm64 in the stack's region."""
    if cfg.powertools_layer_arn:
        return cfg.powertools_layer_arn
    py = runtime.name.replace(".", "")  # "python3.14" -> "python314"
    return (
        f"arn:aws:lambda:{cfg.region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{py}-arm64:{cfg.powertools_layer_version}"
    )


class IngestApi(Construct):
    """HTTP API (POST /metrics, GET /health, IAM auth) + ingest Lambda + invoke policy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: DeployConfig,
        table: dynamodb.ITable,
        apps: tuple[CatalogApp, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        retention = cfg.log_retention
        self.function_log_group = logs.LogGroup(
            self, "FunctionLogs", retention=retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.role = self._role(table)
        runtime = newest_python_runtime()
        self.function = lambda_.Function(
            self,
            "Function",
            description="Central Analytics ingest: validates metric batches, writes DynamoDB",
            runtime=runtime,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=ASSET_EXCLUDES),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(cfg, runtime)
                )
            ],
            memory_size=256,
            # Sized from the write budget (ingest/budget.py): a slow table still gets its 503
            # with notWritten before Lambda, and API Gateway's 30 s, cut the request off.
            timeout=cdk.Duration.seconds(LAMBDA_TIMEOUT_S),
            role=self.role,
            log_group=self.function_log_group,
            environment={
                "METRICS_TABLE": table.table_name,
                "ALLOWED_APPLICATIONS": ",".join(app.id for app in apps),
                "APP_NAMESPACES": app_namespaces(apps),
                "INGEST_PRINCIPALS": ingest_principals(apps),
                "INGEST_CAPS": ingest_caps(apps),
                "RETENTION_DAYS": str(cfg.retention_days),
                "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
            },
        )
        self._grant_logs()

        self.access_log_group = logs.LogGroup(
            self, "AccessLogs", retention=retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            description="Central Analytics metric ingest (SigV4 / IAM authorized)",
            create_default_stage=False,
            default_authorizer=HttpIamAuthorizer(),
        )
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            access_log_settings=_AccessLogSettings(self.access_log_group),
            # Bounds Lambda concurrency and DynamoDB writes if a publisher loops.
            throttle=apigwv2.ThrottleSettings(
                rate_limit=cfg.ingest_rate_limit, burst_limit=cfg.ingest_burst_limit
            ),
        )
        integration = HttpLambdaIntegration("Ingest", self.function)
        self.api.add_routes(
            path="/metrics", methods=[apigwv2.HttpMethod.POST], integration=integration
        )
        self.api.add_routes(
            path="/health", methods=[apigwv2.HttpMethod.GET], integration=integration
        )
        self.metrics_route_arn = self.api.arn_for_execute_api("POST", "/metrics", STAGE_NAME)
        self.health_route_arn = self.api.arn_for_execute_api("GET", "/health", STAGE_NAME)
        self.invoke_policy = iam.ManagedPolicy(
            self,
            "InvokePolicy",
            description="Attach to an app's role so it may call the Central Analytics ingest API",
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"],
                    resources=[self.metrics_route_arn, self.health_route_arn],
                )
            ],
        )
        self.url = f"https://{self.api.api_id}.execute-api.{cfg.region}.{cdk.Aws.URL_SUFFIX}"

    def _role(self, table: dynamodb.ITable) -> iam.Role:
        """A role that can write items to the metrics table and nothing else besides its logs.

        Built by hand (not ``table.grant_write_data``) because the grant adds UpdateItem,
        DeleteItem and DescribeTable, which the ingest function never calls: the actions are
        those of :data:`ingest.permissions.TABLE_OPERATIONS`.
        """
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Central Analytics ingest Lambda: write metric items, write own logs",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteMetricItems", actions=TABLE_WRITE_ACTIONS, resources=[table.table_arn]
            )
        )
        # The series registry (cardinality caps): read and update only its own small items.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="SeriesRegistry", actions=REGISTRY_ACTIONS, resources=[table.table_arn],
                conditions={"ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [f"{REGISTRY_PREFIX}*"]}},
            )
        )
        return role

    def _grant_logs(self) -> None:
        """Logs permission scoped to this function's own log group (its ARN ends in ``:*``)."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.function_log_group.log_group_arn],
            )
        )
