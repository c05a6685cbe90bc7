"""The read API on AWS: AppSync with the repository's schema, Lambda resolvers running the
dashboard's services, and live updates from the metrics table's stream.

Auth: IAM is the default mode (services and the apps' own roles sign with SigV4); with SSO the
Cognito user pool is added for people. Every Lambda-backed field goes through one JS resolver
(``resolvers/services.js``) so the Python code's error codes reach callers as ``errorType``.
Live updates are AppSync's managed fan-out: a stream-processor Lambda reads new items from the
table's stream and calls ``publishMetricUpdate`` on a NONE data source; ``@aws_subscribe`` on
``metricUpdates`` delivers each to the subscriptions whose filter (set by the Lambda-backed
subscription resolver after it authorized the caller) matches.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from analytics.core.permissions import API
from central_analytics.catalog import CatalogApp, app_namespaces, ingest_caps, ingest_principals
from central_analytics.config import REPO_ROOT, DeployConfig
from central_analytics.ingest_api import (
    FUNCTIONS_DIR,
    REGISTRY_ACTIONS,
    REGISTRY_PREFIX,
    TABLE_WRITE_ACTIONS,
    newest_python_runtime,
)
from central_analytics.nag import acknowledge
from central_analytics.task_role import task_role_statements

SCHEMA_FILE = REPO_ROOT / "api" / "schema.graphql"
RESOLVERS_DIR = REPO_ROOT / "infra" / "cdk" / "central_analytics" / "resolvers"
DOCKERFILE = "infra/functions/api_resolvers/Dockerfile"
IMAGE_EXCLUDES = ["app_pages", ".streamlit", "Home.py", ".mypy_cache", ".import_linter_cache",
                  "README.md", "clients", "infra/functions/pipeline"]
#: Fields resolved by the Python Lambda (everything but the publish mutation).
LAMBDA_FIELDS = (("Query", "getMetrics"), ("Query", "getRealtimeMetrics"),
                 ("Query", "getCostAnalysis"), ("Mutation", "recordCustomMetric"),
                 ("Subscription", "metricUpdates"))
QUERY_DEPTH_LIMIT = 8  # the local server's MAX_DEPTH (analytics/api/schema.py)
RESOLVER_COUNT_LIMIT = 10  # at most 10 Lambda-backed root fields per request, as locally
STREAM_BATCH_SIZE = 100
STREAM_RETRIES = 3
#: The ingest handler's write budget (ingest/budget.py) plus the reads of a page deadline.
RESOLVER_TIMEOUT_S = 28  # AppSync waits 30 s for a Lambda data source


def _js(name: str) -> appsync.Code:
    return appsync.Code.from_inline((RESOLVERS_DIR / name).read_text(encoding="utf-8"))


class GraphqlApi(Construct):
    """AppSync API + resolver Lambda + stream processor + the callers' read policy."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig,
                 table: dynamodb.Table, apps: tuple[CatalogApp, ...],
                 user_pool: cognito.IUserPool | None) -> None:
        super().__init__(scope, construct_id)
        self.cfg = cfg
        additional = [appsync.AuthorizationMode(
            authorization_type=appsync.AuthorizationType.USER_POOL,
            user_pool_config=appsync.UserPoolConfig(user_pool=user_pool))] if user_pool else []
        self.api = appsync.GraphqlApi(
            self, "Api", name="central-analytics",
            definition=appsync.Definition.from_file(str(SCHEMA_FILE)),
            authorization_config=appsync.AuthorizationConfig(
                default_authorization=appsync.AuthorizationMode(
                    authorization_type=appsync.AuthorizationType.IAM),
                additional_authorization_modes=additional),
            # aws-cdk-lib sets the retention of AppSync's own group with its LogRetention
            # custom resource (one Lambda per stack)
            log_config=appsync.LogConfig(field_log_level=appsync.FieldLogLevel.ERROR,
                                         exclude_verbose_content=True,
                                         retention=cfg.log_retention),
            xray_enabled=True,
            query_depth_limit=QUERY_DEPTH_LIMIT,
            resolver_count_limit=RESOLVER_COUNT_LIMIT,
        )
        self.function = self._resolver_function(table, apps)
        services = self.api.add_lambda_data_source("Services", self.function)
        for type_name, field in LAMBDA_FIELDS:
            services.create_resolver(f"{field}Resolver", type_name=type_name, field_name=field,
                                     runtime=appsync.FunctionRuntime.JS_1_0_0,
                                     code=_js("services.js"))
        publish = self.api.add_none_data_source("Publish")
        publish.create_resolver("PublishResolver", type_name="Mutation",
                                field_name="publishMetricUpdate",
                                runtime=appsync.FunctionRuntime.JS_1_0_0, code=_js("publish.js"))
        self.publisher, self.dead_letters = self._stream_processor(table)
        self.read_policy = iam.ManagedPolicy(
            self, "ReadPolicy",
            description="Attach to a role that may read the Central Analytics API (its apps "
                        "are decided by the catalog's ingest_principals or the admin list)",
            statements=[iam.PolicyStatement(actions=["appsync:GraphQL"], resources=[
                self.field_arn("Query", "*"), self.field_arn("Subscription", "*"),
                self.field_arn("Mutation", "recordCustomMetric")])])
        self._acknowledge()

    def field_arn(self, type_name: str, field: str) -> str:
        return f"{self.api.arn}/types/{type_name}/fields/{field}"

    def _resolver_function(self, table: dynamodb.Table, apps: tuple[CatalogApp, ...]
                           ) -> lambda_.DockerImageFunction:
        self.function_logs = logs.LogGroup(self, "ResolverLogs", retention=self.cfg.log_retention,
                                           removal_policy=cdk.RemovalPolicy.DESTROY)
        role = iam.Role(self, "ResolverRole",
                        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description="Central Analytics read API: the dashboard's reads, the "
                                    "ingest writes, its own logs")
        for statement in task_role_statements(self.cfg, table, apps, API):
            role.add_to_policy(statement)
        role.add_to_policy(iam.PolicyStatement(sid="WriteMetricItems",
                                               actions=TABLE_WRITE_ACTIONS,
                                               resources=[table.table_arn]))
        role.add_to_policy(iam.PolicyStatement(
            sid="SeriesRegistry", actions=REGISTRY_ACTIONS, resources=[table.table_arn],
            conditions={"ForAllValues:StringLike": {
                "dynamodb:LeadingKeys": [f"{REGISTRY_PREFIX}*"]}}))
        role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.function_logs.log_group_arn]))
        self.resolver_role = role
        code = lambda_.DockerImageCode.from_image_asset(
            directory=str(REPO_ROOT), file=DOCKERFILE, exclude=IMAGE_EXCLUDES)
        return lambda_.DockerImageFunction(
            self, "Resolver", code=code, architecture=lambda_.Architecture.ARM_64,
            description="Central Analytics read API: the dashboard's services for AppSync",
            memory_size=1024, timeout=cdk.Duration.seconds(RESOLVER_TIMEOUT_S), role=role,
            log_group=self.function_logs, environment={
                "ANALYTICS_BACKEND": "aws", "METRICS_TABLE": table.table_name,
                "ALLOWED_APPLICATIONS": ",".join(a.id for a in apps),
                "APP_NAMESPACES": app_namespaces(apps),
                "INGEST_PRINCIPALS": ingest_principals(apps),
                "INGEST_CAPS": ingest_caps(apps),
                "RETENTION_DAYS": str(self.cfg.retention_days),
                "API_ADMIN_PRINCIPALS": json.dumps(list(self.cfg.api_admin_principals)),
                "API_GROUPS": self.cfg.api_groups,
                "POWERTOOLS_SERVICE_NAME": "central-analytics-api",
            })

    def _stream_processor(self, table: dynamodb.Table
                          ) -> tuple[lambda_.Function, sqs.Queue]:
        dead_letters = sqs.Queue(self, "StreamDeadLetters",
                                 encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                                 retention_period=cdk.Duration.days(14))
        log_group = logs.LogGroup(self, "PublisherLogs", retention=self.cfg.log_retention,
                                  removal_policy=cdk.RemovalPolicy.DESTROY)
        role = iam.Role(self, "PublisherRole",
                        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description="Central Analytics stream processor: publish updates")
        role.add_to_policy(iam.PolicyStatement(
            sid="PublishUpdates", actions=["appsync:GraphQL"],
            resources=[self.field_arn("Mutation", "publishMetricUpdate")]))
        role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn]))
        function = lambda_.Function(
            self, "Publisher", runtime=newest_python_runtime(),
            architecture=lambda_.Architecture.ARM_64,
            description="Central Analytics: new metric items -> AppSync subscribers",
            handler="publisher.lambda_handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / "metric_stream"),
                                         exclude=["__pycache__", "*.pyc"]),
            memory_size=256, timeout=cdk.Duration.seconds(30), role=role, log_group=log_group,
            environment={"APPSYNC_URL": self.api.graphql_url})
        function.add_event_source(sources.DynamoEventSource(
            table, starting_position=lambda_.StartingPosition.LATEST,
            batch_size=STREAM_BATCH_SIZE, bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRIES, report_batch_item_failures=True,
            on_failure=sources.SqsDlq(dead_letters),
            filters=[lambda_.FilterCriteria.filter(
                {"eventName": lambda_.FilterRule.is_equal("INSERT")})]))
        return function, dead_letters

    def _acknowledge(self) -> None:
        region = self.cfg.region
        for resource, reason in {
            "*": "CloudWatch GetMetricData/ListMetrics, Cost Explorer reads and "
                 "tag:GetResources have no resource-level permissions; read actions only.",
            f"arn:<AWS::Partition>:apigateway:{region}::/restapis/*":
                "apigateway:GET on REST APIs: names and stages of tag-discovered APIs, whose "
                "ids are not known at deploy time; GET is read-only.",
            f"arn:<AWS::Partition>:apigateway:{region}::/apis/*":
                "apigateway:GET on HTTP APIs: names of tag-discovered APIs, whose ids are not "
                "known at deploy time; GET is read-only.",
        }.items():
            acknowledge(self.resolver_role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        acknowledge(self.api, "AwsSolutions-ASC3",
                    "Errors are logged per field; verbose content (request headers: SigV4 "
                    "signatures and Cognito tokens) is deliberately kept out of the logs.")
        acknowledge(self.api, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                    "service-role/AWSAppSyncPushToCloudWatchLogs]",
                    "AWS documents this managed policy for AppSync's logging role; only "
                    "appsync.amazonaws.com can assume the role, which only writes logs.")
        function_id = cdk.Stack.of(self).resolve(self.function.node.default_child.logical_id)  # type: ignore[union-attr]  # a Function's default child is its CfnFunction
        acknowledge(self.api, f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                    "AppSync's data source role may invoke the resolver function and its "
                    "versions (ARN:*); the grant is aws-cdk-lib's, for this function only.")
        acknowledge(self.publisher.role or self, "AwsSolutions-IAM5[Resource::*]",
                    "dynamodb:ListStreams has no resource-level permission; the event source "
                    "grant reads only the metrics table's stream otherwise.")
        retention = next(c for c in cdk.Stack.of(self).node.children
                         if c.node.id.startswith("LogRetention"))
        acknowledge(retention, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                    "service-role/AWSLambdaBasicExecutionRole]",
                    "aws-cdk-lib's LogRetention function (it sets the retention of AppSync's log "
                    "group) logs with the AWS-managed basic execution policy.")
        acknowledge(retention, "AwsSolutions-IAM5[Resource::*]",
                    "aws-cdk-lib's LogRetention function may set the retention of any log group "
                    "(logs:PutRetentionPolicy); it runs only at deploy time.")
        acknowledge(self.dead_letters, "AwsSolutions-SQS3",
                    "This queue is the stream processor's dead-letter queue: its own messages "
                    "are the records that failed, kept 14 days for a replay.")
        api_id = cdk.Stack.of(self).resolve(self.api.node.default_child.logical_id)  # type: ignore[union-attr]  # GraphqlApi's default child is its CfnGraphQLApi
        for type_name in ("Query", "Subscription"):
            acknowledge(self.read_policy,
                        f"AwsSolutions-IAM5[Resource::<{api_id}.Arn>/types/{type_name}/fields/*]",
                        f"Readers may call every {type_name} field; which applications they see "
                        "is decided per call by the resolvers (catalog principals).")


API_STACK_NAME = "CentralAnalyticsApi"


class ApiStack(cdk.Stack):
    """The read API beside the main stack: it reads the main stack's table (and stream) and,
    with SSO, its user pool; the main stack never depends on it."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig,
                 table: dynamodb.Table, apps: tuple[CatalogApp, ...],
                 user_pool: cognito.IUserPool | None, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.graphql = GraphqlApi(self, "ReadApi", cfg=cfg, table=table, apps=apps,
                                  user_pool=user_pool)
        cdk.CfnOutput(self, "GraphqlUrl", value=self.graphql.api.graphql_url,
                      description="Read API: AppSync GraphQL endpoint (IAM or Cognito auth)")
        cdk.CfnOutput(self, "GraphqlReadPolicyArn",
                      value=self.graphql.read_policy.managed_policy_arn,
                      description="Managed policy to attach to roles that read the API")
