"""VPC and the load balancer's access-log bucket.

Public subnets only and no NAT gateway: the Fargate task gets a public IP and reaches AWS APIs
through the internet gateway, while its security group admits traffic only from the ALB. A NAT
gateway would add ~$33/month per AZ (plus $0.045/GB) to a stack whose whole compute floor is
about the same, for no security gain here (nothing listens on the task's public IP).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from central_analytics.cache_tier import cache_subnets
from central_analytics.config import DeployConfig
from central_analytics.nag import acknowledge

ACCESS_LOG_EXPIRY_DAYS = 90


class Network(Construct):
    """Two-AZ public-subnet VPC with flow logs, plus the ALB access-log bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,  # an ALB needs two AZs
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                *([cache_subnets()] if cfg.cache_enabled else []),
            ],
            # True would add a custom-resource Lambda; nothing uses the default SG anyway.
            restrict_default_security_group=False,
        )
        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=cfg.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

        # ALB access logs only support SSE-S3 (not SSE-KMS) on the destination bucket.
        self.access_log_bucket = s3.Bucket(
            self,
            "AlbAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=cdk.Duration.days(ACCESS_LOG_EXPIRY_DAYS))
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_log_bucket,
            "AwsSolutions-S1",
            "This bucket is itself the ALB access-log destination; server access logs for it "
            "would need yet another log bucket and only record ELB's own log deliveries.",
        )
