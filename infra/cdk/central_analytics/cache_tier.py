"""The shared cache tier: ElastiCache Serverless (Valkey) for every task of the dashboard.

Why: with more than one task, each one's in-process cache calls CloudWatch and Cost Explorer
for the same data, gives an attacker 5 guesses per task and forgets another task's sign-outs.
The cache sits in isolated subnets (no route out), admits only the dashboard's security group
on 6379, always speaks TLS, and knows one user that signs in with the task role (IAM auth:
no password exists anywhere); the default user is disabled. Its usage limits cap the bill.
Serverless Valkey meters at least 100 MB: about $6/month before requests (docs/deploy.md).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from constructs import Construct

from analytics.core.permissions import CACHE_TIER
from central_analytics.config import DeployConfig

PORT = 6379
ENGINE = "valkey"
MAJOR_VERSION = "8"
#: What the dashboard's user may touch: its own key prefixes, no admin commands.
ACCESS_STRING = "on ~ca:* ~ca-sec:* +@all -@dangerous"


def cache_name(cfg: DeployConfig) -> str:
    return f"central-analytics-{cfg.environment}"[:40]


class CacheTier(Construct):
    """The serverless cache, its user group, its security group and the task role's grant.

    ``env`` is what the task needs (``ANALYTICS_CACHE_*``); nothing in it is secret.
    """

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig,
                 vpc: ec2.IVpc, subnets: ec2.SelectedSubnets,
                 clients: ec2.ISecurityGroup, task_role: iam.IRole) -> None:
        super().__init__(scope, construct_id)
        name = cache_name(cfg)
        # Rules inline (L1): the only way in is 6379 from the tasks' group; nothing goes out
        # (the egress rule is the "disallow all" placeholder CDK itself writes).
        self.security_group = ec2.CfnSecurityGroup(
            self, "SecurityGroup", vpc_id=vpc.vpc_id,
            group_description="Central Analytics cache tier: the dashboard tasks only",
            security_group_ingress=[ec2.CfnSecurityGroup.IngressProperty(
                ip_protocol="tcp", from_port=PORT, to_port=PORT,
                source_security_group_id=clients.security_group_id,
                description="Valkey from the dashboard tasks")],
            security_group_egress=[ec2.CfnSecurityGroup.EgressProperty(
                ip_protocol="icmp", from_port=252, to_port=86, cidr_ip="255.255.255.255/32",
                description="Disallow all traffic")])
        disabled_default = elasticache.CfnUser(
            self, "DefaultUser", engine=ENGINE, user_id=f"{name}-default",
            user_name="default", access_string="off -@all",
            authentication_mode={"Type": "no-password-required"})
        self.user = elasticache.CfnUser(
            self, "User", engine=ENGINE, user_id=name, user_name=name,
            access_string=ACCESS_STRING, authentication_mode={"Type": "iam"})
        group = elasticache.CfnUserGroup(
            self, "Users", engine=ENGINE, user_group_id=name,
            user_ids=[disabled_default.user_id, self.user.user_id])
        group.add_dependency(disabled_default)
        group.add_dependency(self.user)
        self.cache = elasticache.CfnServerlessCache(
            self, "Cache", serverless_cache_name=name, engine=ENGINE,
            major_engine_version=MAJOR_VERSION,
            description="Central Analytics: query cache, sign-in budgets, signed-out sessions",
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[self.security_group.attr_group_id],
            user_group_id=group.user_group_id,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=cfg.cache_max_gb),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=cfg.cache_max_ecpu_per_second)),
            snapshot_retention_limit=0)  # a cache: rebuilt from AWS, nothing to restore
        self.cache.add_dependency(group)
        # A policy of its own: the task role's default policy is a dependency of the service,
        # whose security group the cache depends on (a cycle otherwise). Until it exists the
        # tasks run on their own caches (the tier answers "down" and is retried).
        iam.Policy(self, "Connect", roles=[task_role], statements=[iam.PolicyStatement(
            sid="ConnectToTheCacheTier", actions=sorted({p.action for p in CACHE_TIER}),
            resources=[self.cache.attr_arn, self.user.attr_arn])])
        self.env = {
            "ANALYTICS_CACHE_URL": cdk.Fn.join("", [
                f"rediss://{name}@", self.cache.attr_endpoint_address, ":",
                self.cache.attr_endpoint_port]),
            "ANALYTICS_CACHE_CLUSTER": "true",
            "ANALYTICS_CACHE_IAM_CACHE_NAME": name,
        }


def cache_subnets() -> ec2.SubnetConfiguration:
    """Isolated subnets (no route out, no cost) the cache lives in."""
    return ec2.SubnetConfiguration(name="cache", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                                   cidr_mask=26)
