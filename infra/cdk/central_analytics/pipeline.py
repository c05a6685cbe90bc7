"""The batch pipeline: a Standard Step Functions state machine, its Lambdas, the rollups table,
the reports bucket and topic, and the EventBridge Scheduler schedules.

Shape: FetchData -> Parallel(AggregateMetrics, GenerateReports) -> StoreResults. Every task
retries with exponential backoff (bad input, ``PipelineError``, is not retried); a Catch on each
records the failed run and alerts the existing alarm topic before failing the execution. The
Lambdas run the dashboard's own steps from one container image (``infra/functions/pipeline``),
so the numbers the pipeline stores are computed by the code the pages run.

A stack of its own (``CentralAnalyticsPipeline``, deployed after the main stack), with fixed
names for the table, bucket and state machine: the dashboard in the main stack is configured
with those names, so the main stack never depends on this one and this one reads the main
stack's table, topic, backup plan and task role.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from central_analytics.config import REPO_ROOT, DeployConfig
from central_analytics.nag import acknowledge

DOCKERFILE = "infra/functions/pipeline/Dockerfile"
#: The image's build context is the repository root (.dockerignore keeps infra/ out except
#: this package); what the pipeline image never needs is left out of the asset as well.
IMAGE_EXCLUDES = ["app_pages", ".streamlit", "Home.py", ".mypy_cache", ".import_linter_cache",
                  "README.md"]
DAILY_CRON = {"minute": "30", "hour": "2"}  # 02:30 UTC: yesterday is complete in CloudWatch
WEEKLY_CRON = {"minute": "0", "hour": "6", "week_day": "MON"}  # after Sunday's costs settle
STAGING_EXPIRY_DAYS = 3
REPORT_NONCURRENT_DAYS = 90
REPORT_IA_DAYS = 90
RETRY_INTERVAL = cdk.Duration.seconds(20)
RETRY_BACKOFF = 2.0
RETRY_ATTEMPTS = 3
CE_READS = ["ce:GetCostAndUsage"]
REPORT_CE_READS = ["ce:GetCostAndUsage", "ce:GetCostForecast", "ce:GetAnomalies"]
METRIC_READS = ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"]


class PipelineStack(cdk.Stack):
    """Everything of the pipeline, and the dashboard's read access to it."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig,
                 metrics_table: dynamodb.ITable, alarm_topic: sns.ITopic,
                 backup_plan: backup.IBackupPlan, dashboard_role: iam.IRole,
                 **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.cfg = cfg
        replicas = [dynamodb.ReplicaTableProps(region=cfg.replica_region)] \
            if cfg.replica_region else None
        self.rollups = dynamodb.TableV2(
            self, "Rollups", table_name=rollups_table_name(cfg),
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            replicas=replicas,
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if replicas else None,
        )
        backup.BackupSelection(self, "RollupsBackup", backup_plan=backup_plan,
                               resources=[backup.BackupResource.from_arn(self.rollups.table_arn)])
        self._acknowledge_backup_role()
        self.bucket = self._reports_bucket()
        self.key = kms.Key(self, "TopicKey", enable_key_rotation=True,
                           description="Encrypts the Central Analytics reports topic",
                           removal_policy=cdk.RemovalPolicy.DESTROY)
        self.topic = sns.Topic(self, "ReportsTopic", display_name="Central Analytics reports",
                               topic_name=f"central-analytics-reports-{cfg.environment}",
                               master_key=self.key, enforce_ssl=True)
        env = {"ANALYTICS_BACKEND": "aws", "ANALYTICS_DATA_DIR": "/tmp",
               "METRICS_TABLE": metrics_table.table_name, "ROLLUPS_TABLE": self.rollups.table_name,
               "REPORTS_BUCKET": self.bucket.bucket_name, "REPORTS_TOPIC_ARN": self.topic.topic_arn}
        self.functions: dict[str, lambda_.DockerImageFunction] = {}
        for name, handler, minutes, memory in (
                ("Fetch", "fetch", 15, 2048), ("Aggregate", "aggregate", 5, 1024),
                ("Report", "report", 5, 2048), ("Store", "store", 5, 1024),
                ("RecordFailure", "record_failure", 1, 512)):
            code = lambda_.DockerImageCode.from_image_asset(
                directory=str(REPO_ROOT), file=DOCKERFILE, exclude=IMAGE_EXCLUDES,
                platform=ecr_assets.Platform.LINUX_ARM64,
                cmd=[f"pipeline.handlers.{handler}"])
            self.functions[name] = self._function(name, code, minutes, memory, env)
        self._grant(metrics_table)
        self.state_machine = self._state_machine(alarm_topic)
        self.schedules = [
            self._schedule("Daily", scheduler.ScheduleExpression.cron(**DAILY_CRON),
                           {"mode": "day", "trigger": "schedule"}),
            self._schedule("Weekly", scheduler.ScheduleExpression.cron(**WEEKLY_CRON),
                           {"mode": "week", "trigger": "schedule"}),
        ]
        self.grant_dashboard(dashboard_role)
        self._outputs()

    # -- storage -------------------------------------------------------------------------
    def _reports_bucket(self) -> s3.Bucket:
        logs_bucket = s3.Bucket(
            self, "ReportsAccessLogs", encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN)
        acknowledge(logs_bucket, "AwsSolutions-S1",
                    "This bucket is itself the reports bucket's server-access-log destination; "
                    "logging it too would need yet another bucket and only log S3's deliveries.")
        replication = None
        if self.cfg.replica_region:
            replication = [s3.ReplicationRule(
                destination=s3.Bucket.from_bucket_attributes(
                    self, "ReplicaBucket", bucket_name=replica_bucket_name(self.cfg),
                    region=self.cfg.replica_region),
                priority=1, filter=s3.Filter(prefix="reports/"),
                delete_marker_replication=True)]
        bucket = s3.Bucket(
            self, "Reports", bucket_name=reports_bucket_name(self.cfg, self.region),
            encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            versioned=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=logs_bucket, server_access_logs_prefix="reports/",
            replication_rules=replication,
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireStaging", prefix="staging/",
                                 expiration=cdk.Duration.days(STAGING_EXPIRY_DAYS),
                                 noncurrent_version_expiration=cdk.Duration.days(1)),
                s3.LifecycleRule(
                    id="AgeReports", prefix="reports/",
                    noncurrent_version_expiration=cdk.Duration.days(REPORT_NONCURRENT_DAYS),
                    transitions=[s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                               transition_after=cdk.Duration.days(
                                                   REPORT_IA_DAYS))]),
                s3.LifecycleRule(id="AbortUploads",
                                 abort_incomplete_multipart_upload_after=cdk.Duration.days(1)),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN)
        if replication:
            acknowledge(bucket, f"AwsSolutions-IAM5[Resource::<{_logical(bucket)}.Arn>/*]",
                        "S3 replication reads every object version of this bucket (CDK's "
                        "replication role); only the reports/ prefix is replicated.")
            shown = replica_bucket_name(self.cfg).replace(cdk.Aws.ACCOUNT_ID, "<AWS::AccountId>")
            acknowledge(bucket, f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{shown}/*]",
                        "Replicas are written to the DR bucket's objects, whose keys mirror "
                        "this bucket's.")
        return bucket

    # -- functions -----------------------------------------------------------------------
    def _function(self, name: str, code: lambda_.DockerImageCode, minutes: int, memory: int,
                  env: dict[str, str]) -> lambda_.DockerImageFunction:
        log_group = logs.LogGroup(self, f"{name}Logs", retention=self.cfg.log_retention,
                                  removal_policy=cdk.RemovalPolicy.DESTROY)
        role = iam.Role(self, f"{name}Role", assumed_by=iam.ServicePrincipal(
            "lambda.amazonaws.com"), description=f"Central Analytics pipeline {name} step")
        role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn]))
        return lambda_.DockerImageFunction(
            self, name, code=code, architecture=lambda_.Architecture.ARM_64,
            description=f"Central Analytics pipeline: {name}", memory_size=memory,
            timeout=cdk.Duration.minutes(minutes), role=role, log_group=log_group,
            environment=env)

    def _grant(self, metrics_table: dynamodb.ITable) -> None:
        """Each step gets exactly the calls its code makes."""
        f, bucket = self.functions, self.bucket
        staging, reports = bucket.arn_for_objects("staging/*"), bucket.arn_for_objects("reports/*")

        def allow(fn: str, sid: str, actions: list[str], resources: list[str]) -> None:
            f[fn].add_to_role_policy(iam.PolicyStatement(sid=sid, actions=actions,
                                                         resources=resources))

        allow("Fetch", "ReadMetricsAndCosts", METRIC_READS + CE_READS, ["*"])
        allow("Fetch", "QueryCustomMetrics", ["dynamodb:Query"], [metrics_table.table_arn])
        allow("Fetch", "StageFetched", ["s3:PutObject"], [staging])
        allow("Aggregate", "ReadFetched", ["s3:GetObject"], [staging])
        allow("Aggregate", "StageRollups", ["s3:PutObject"], [staging])
        allow("Report", "ReadCosts", REPORT_CE_READS, ["*"])
        allow("Report", "WriteAndSignPacks", ["s3:PutObject", "s3:GetObject"], [reports])
        allow("Report", "PublishSummary", ["sns:Publish"], [self.topic.topic_arn])
        allow("Report", "EncryptSummary", ["kms:GenerateDataKey", "kms:Decrypt"],
              [self.key.key_arn])
        allow("Store", "ReadAndDropStaged", ["s3:GetObject", "s3:DeleteObject"], [staging])
        allow("Store", "WriteRollupsAndRuns", ["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
              [self.rollups.table_arn])
        allow("RecordFailure", "WriteRunRecord", ["dynamodb:PutItem"], [self.rollups.table_arn])
        for fn in ("Fetch", "Report"):
            acknowledge(f[fn].role or f[fn], "AwsSolutions-IAM5[Resource::*]",
                        "cloudwatch:GetMetricData/ListMetrics and the Cost Explorer reads have "
                        "no resource-level permissions; the statement holds only these reads.")
        for fn, prefix in (("Fetch", "staging"), ("Aggregate", "staging"), ("Store", "staging"),
                           ("Report", "reports")):
            acknowledge(f[fn].role or f[fn],
                        f"AwsSolutions-IAM5[Resource::<{_logical(bucket)}.Arn>/{prefix}/*]",
                        f"Objects under the bucket's {prefix}/ prefix only: keys are made per "
                        "run and per pack, so no fixed key list exists.")

    # -- orchestration -------------------------------------------------------------------
    def _task(self, name: str, fn: str, *, result_path: str | None) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self, name, lambda_function=self.functions[fn],
            payload=sfn.TaskInput.from_object({
                "event": sfn.JsonPath.object_at("$"),
                "run_id": sfn.JsonPath.string_at("$$.Execution.Name")}),
            payload_response_only=True, retry_on_service_exceptions=False,
            result_path=result_path)
        task.add_retry(errors=["PipelineError"], max_attempts=0)  # bad input: never retried
        task.add_retry(errors=["Lambda.ServiceException", "Lambda.AWSLambdaException",
                               "Lambda.SdkClientException", "Lambda.TooManyRequestsException",
                               "States.TaskFailed", "States.Timeout"],
                       interval=RETRY_INTERVAL, backoff_rate=RETRY_BACKOFF,
                       max_attempts=RETRY_ATTEMPTS, jitter_strategy=sfn.JitterType.FULL)
        return task

    def _state_machine(self, alarm_topic: sns.ITopic) -> sfn.StateMachine:
        failed = sfn.Fail(self, "PipelineFailed", cause="a pipeline step failed after retries")
        notify = tasks.SnsPublish(
            self, "NotifyFailure", topic=alarm_topic, subject="Central Analytics pipeline failed",
            message=sfn.TaskInput.from_text(sfn.JsonPath.format(
                "Central Analytics pipeline execution {} failed: {}",
                sfn.JsonPath.string_at("$$.Execution.Name"),
                sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.error")))),
            result_path=sfn.JsonPath.DISCARD).next(failed)
        record = self._task("RecordRunFailure", "RecordFailure", result_path=sfn.JsonPath.DISCARD)
        record.add_catch(notify, result_path="$.recordError")
        record.next(notify)
        fetch = self._task("FetchData", "Fetch", result_path="$")
        parallel = sfn.Parallel(self, "AggregateAndReport", result_path="$.results")
        parallel.branch(self._task("AggregateMetrics", "Aggregate", result_path="$"))
        parallel.branch(self._task("GenerateReports", "Report", result_path="$"))
        store = self._task("StoreResults", "Store", result_path="$.stored")
        for state in (fetch, parallel, store):
            state.add_catch(record, errors=["States.ALL"], result_path="$.error")
        log_group = logs.LogGroup(self, "StateMachineLogs", retention=self.cfg.log_retention,
                                  removal_policy=cdk.RemovalPolicy.DESTROY)
        machine = sfn.StateMachine(
            self, "StateMachine", state_machine_type=sfn.StateMachineType.STANDARD,
            state_machine_name=state_machine_name(self.cfg),
            definition_body=sfn.DefinitionBody.from_chainable(fetch.next(parallel).next(store)),
            timeout=cdk.Duration.hours(2), tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=False),
            comment="FetchData -> Parallel(AggregateMetrics, GenerateReports) -> StoreResults")
        acknowledge(machine, "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery etc.) "
                    "have no resource-level permissions; Step Functions documents '*'.")
        for fn in self.functions.values():
            acknowledge(machine, f"AwsSolutions-IAM5[Resource::<{_logical(fn)}.Arn>:*]",
                        "LambdaInvoke's grant covers the function's versions and aliases "
                        "(ARN:*); still only this pipeline's functions.")
        return machine

    def _schedule(self, name: str, expression: scheduler.ScheduleExpression,
                  payload: dict[str, str]) -> scheduler.Schedule:
        return scheduler.Schedule(
            self, name, schedule=expression, description=f"Central Analytics pipeline, {name}",
            target=targets.StepFunctionsStartExecution(
                self.state_machine, input=scheduler.ScheduleTargetInput.from_object(payload)))

    def _acknowledge_backup_role(self) -> None:
        acknowledge(
            self, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup]",
            "AWS documents this managed policy as the AWS Backup service role policy; only "
            "backup.amazonaws.com can assume the role.")

    def grant_dashboard(self, role: iam.IRole) -> None:
        """What the dashboard reads of the pipeline: rollups and runs, the delivered packs
        (listing and presigned links), and StartExecution for the backfill button."""
        policy = iam.Policy(self, "DashboardAccess", roles=[role], statements=[
            iam.PolicyStatement(sid="ReadRollupsAndRuns", actions=["dynamodb:Query"],
                                resources=[self.rollups.table_arn]),
            iam.PolicyStatement(sid="ListPacks", actions=["s3:ListBucket"],
                                resources=[self.bucket.bucket_arn],
                                conditions={"StringLike": {"s3:prefix": ["reports/*"]}}),
            iam.PolicyStatement(sid="ReadPacks", actions=["s3:GetObject"],
                                resources=[self.bucket.arn_for_objects("reports/*")]),
            iam.PolicyStatement(sid="StartBackfill", actions=["states:StartExecution"],
                                resources=[self.state_machine.state_machine_arn]),
        ])
        acknowledge(policy, f"AwsSolutions-IAM5[Resource::<{_logical(self.bucket)}.Arn>/reports/*]",
                    "The delivered packs only (reports/ prefix); their keys are made per week "
                    "and month, so no fixed key list exists.")

    def _outputs(self) -> None:
        for key, value, description in (
            ("RollupsTableName", self.rollups.table_name, "DynamoDB rollups table"),
            ("ReportsBucketName", self.bucket.bucket_name, "S3 bucket of the packs"),
            ("ReportsTopicArn", self.topic.topic_arn, "SNS topic of the pack summaries"),
            ("PipelineStateMachineArn", self.state_machine.state_machine_arn,
             "Step Functions state machine of the pipeline"),
        ):
            cdk.CfnOutput(self, key, value=value, description=description)


def _logical(construct: Construct) -> str:
    """The logical id cdk-nag names a resource by in its findings (``<Id.Arn>``)."""
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    return str(cdk.Stack.of(construct).resolve(resource.logical_id))


# -- names the dashboard is configured with (fixed, so no stack depends on the other) --------

def rollups_table_name(cfg: DeployConfig) -> str:
    """Also the replica's name in the second region (a global table has one name)."""
    return f"central-analytics-rollups-{cfg.environment}"


def reports_bucket_name(cfg: DeployConfig, region: str) -> str:
    return f"central-analytics-reports-{cfg.environment}-{cdk.Aws.ACCOUNT_ID}-{region}"


def state_machine_name(cfg: DeployConfig) -> str:
    return f"central-analytics-pipeline-{cfg.environment}"


def dashboard_env(stack: cdk.Stack, cfg: DeployConfig) -> dict[str, str]:
    """The pipeline's names for a dashboard in ``stack``'s region."""
    return {
        "ROLLUPS_TABLE": rollups_table_name(cfg),
        "REPORTS_BUCKET": reports_bucket_name(cfg, stack.region),
        "PIPELINE_STATE_MACHINE_ARN": stack.format_arn(
            service="states", resource="stateMachine", resource_name=state_machine_name(cfg),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME),
    }


def replica_bucket_name(cfg: DeployConfig) -> str:
    """The replica region's reports bucket (made by the DR stack; a fixed name, so the primary
    can point replication at it without a cross-stack reference)."""
    assert cfg.replica_region is not None
    return reports_bucket_name(cfg, cfg.replica_region)


def dr_vault_name(cfg: DeployConfig) -> str | None:
    """The DR stack's backup vault in the replica region (None without a replica region)."""
    return f"central-analytics-dr-{cfg.environment}" if cfg.replica_region else None
