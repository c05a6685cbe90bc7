"""The second region (``-c replicaRegion=eu-west-1``): what must exist there before and after
the primary stack.

``CentralAnalyticsDr`` (deployed first) holds the replica of the reports bucket and the backup
vault the primary's plan copies every recovery point to; both have fixed names, so the primary
points at them without a cross-stack reference. ``CentralAnalyticsStandby`` (deployed after the
primary, or only when failing over) runs the same dashboard image reading the region's own
global-table replicas: their names reach it through CDK's cross-region references.
"""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from central_analytics.config import DeployConfig
from central_analytics.dashboard_service import DashboardService
from central_analytics.nag import acknowledge
from central_analytics.pipeline import (
    REPORT_NONCURRENT_DAYS,
    dashboard_env,
    dr_vault_name,
    replica_bucket_name,
    rollups_table_name,
)
from central_analytics.stack import CentralAnalyticsStack

DR_STACK = "CentralAnalyticsDr"
STANDBY_STACK = "CentralAnalyticsStandby"


class DrTargetStack(cdk.Stack):
    """The replica reports bucket and the DR backup vault, in the replica region."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig,
                 **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.bucket = s3.Bucket(
            self, "ReportsReplica", bucket_name=replica_bucket_name(cfg),
            encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True, versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(
                noncurrent_version_expiration=cdk.Duration.days(REPORT_NONCURRENT_DAYS))],
            removal_policy=cdk.RemovalPolicy.RETAIN)
        acknowledge(self.bucket, "AwsSolutions-S1",
                    "Written only by S3 replication from the primary's reports bucket, whose "
                    "server access logs record every read and write of the packs.")
        vault_name = dr_vault_name(cfg)
        assert vault_name is not None  # only built with a replica region
        self.vault = backup.BackupVault(self, "Vault", backup_vault_name=vault_name,
                                        removal_policy=cdk.RemovalPolicy.RETAIN)


class StandbyStack(cdk.Stack):
    """The dashboard in the replica region, reading that region's replicas."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig,
                 primary: CentralAnalyticsStack, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        here = dataclasses.replace(cfg, region=self.region, replica_region=None)
        metrics = dynamodb.Table.from_table_name(self, "MetricsReplica",
                                                 primary.metrics.table.table_name)
        rollups_name = rollups_table_name(cfg)
        env = dashboard_env(self, cfg)
        del env["PIPELINE_STATE_MACHINE_ARN"]  # the pipeline runs in the primary region only
        self.dashboard = DashboardService(
            self, "Dashboard", cfg=here, table=metrics, apps=primary.apps, extra_env=env)
        self.dashboard.task_role.add_to_policy(iam.PolicyStatement(
            sid="ReadRollupsReplica", actions=["dynamodb:Query"],
            resources=[self.format_arn(service="dynamodb", resource="table",
                                       resource_name=rollups_name)]))
        cdk.CfnOutput(self, "StandbyDashboardUrl",
                      value=f"http://{self.dashboard.service.load_balancer.load_balancer_dns_name}",
                      description="The standby dashboard (point DNS here when failing over)")


def build_dr_stacks(app: cdk.App, cfg: DeployConfig,
                    primary: CentralAnalyticsStack) -> tuple[DrTargetStack, StandbyStack]:
    """Both replica-region stacks; the primary deploys after the DR target, the standby after
    the primary (``cdk deploy --all`` follows these dependencies)."""
    assert cfg.replica_region is not None
    env = cdk.Environment(account=cfg.account, region=cfg.replica_region)
    target = DrTargetStack(app, DR_STACK, cfg=cfg, env=env,
                           description="Central Analytics DR: replica reports bucket, backup vault")
    primary.add_stack_dependency(target, "backup copies need their destination vault")
    standby = StandbyStack(app, STANDBY_STACK, cfg=cfg, primary=primary, env=env,
                           cross_region_references=True,
                           description="Central Analytics standby dashboard (replica region)")
    return target, standby
