"""The metrics table (DynamoDB) and its backups.

Recovery targets: RPO 5 minutes comes from point-in-time recovery (restorable to any second of
the last 35 days, latest restorable time ~5 minutes behind now); the AWS Backup plan every 6 hours
adds copies that survive a table deletion or a PITR mishap and that restore in minutes for a table
of this size, well inside the 1-hour RTO (see docs/deploy.md).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from constructs import Construct

from central_analytics.nag import acknowledge

BACKUP_SCHEDULE_HOURS = 6
# Short on purpose: every DynamoDB backup is a full copy (28 copies at 4 a day); PITR covers the
# last 35 days at second granularity, so older backups would mostly duplicate it.
BACKUP_RETENTION_DAYS = 7


class MetricsTable(Construct):
    """On-demand table keyed by ``metricId``/``timestamp`` with TTL, stream, PITR and backups."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="metricId", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="timestamp", type=dynamodb.AttributeType.NUMBER),
            # Traffic is bursty (ingest batches, dashboard refreshes) and small: on-demand has no
            # idle cost, provisioned capacity would bill for peak all month.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="ttl",
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True,
            ),
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

        # A dedicated vault (encrypted with the AWS-owned Backup key) kept on stack deletion,
        # so deleting the stack never deletes the recovery points.
        self.vault = backup.BackupVault(
            self, "Vault", removal_policy=cdk.RemovalPolicy.RETAIN
        )
        self.plan = backup.BackupPlan(
            self, "Plan", backup_plan_name="central-analytics-metrics", backup_vault=self.vault
        )
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name=f"Every{BACKUP_SCHEDULE_HOURS}Hours",
                schedule_expression=events.Schedule.cron(
                    minute="0", hour=f"*/{BACKUP_SCHEDULE_HOURS}"
                ),
                start_window=cdk.Duration.hours(1),
                completion_window=cdk.Duration.hours(2),
                delete_after=cdk.Duration.days(BACKUP_RETENTION_DAYS),
            )
        )
        selection = self.plan.add_selection(
            "MetricsTable",
            resources=[backup.BackupResource.from_dynamo_db_table(self.table)],
        )
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup]",
            "AWS documents this managed policy as the AWS Backup service role policy; AWS keeps "
            "it current as services change, and only backup.amazonaws.com can assume the role.",
        )
