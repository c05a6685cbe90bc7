"""The Streamlit dashboard on ECS Fargate behind an Application Load Balancer.

Why Fargate + ALB: App Runner is closed to new customers since 2026-04-30 and never carried the
WebSocket Streamlit uses at ``/_stcore/stream``; an ALB does. Streamlit keeps each session in the
process, hence sticky sessions, and keeps the WebSocket open, hence a 3600 s idle timeout.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from central_analytics.cache_tier import CacheTier
from central_analytics.catalog import CatalogApp
from central_analytics.config import REPO_ROOT, DeployConfig
from central_analytics.nag import acknowledge
from central_analytics.network import Network
from central_analytics.task_role import acknowledge_wildcards, task_role_statements

CONTAINER_PORT = 8501
HEALTH_CHECK_PATH = "/_stcore/health"
IDLE_TIMEOUT_SECONDS = 3600
STICKINESS = cdk.Duration.hours(12)
MIN_TASKS, CPU_TARGET_PCT = 1, 60
# An empty user list: the dashboard starts, nobody can log in until an operator uploads real
# credentials (docs/deploy.md). CloudFormation only re-applies it if this text changes.
CREDENTIALS_PLACEHOLDER = "credentials:\n  usernames: {}\n"
#: Browsers remember "HTTPS only" for a year once they saw the dashboard over HTTPS.
HSTS = "max-age=31536000; includeSubDomains"
# Never copied into the image build context: big, secret, or irrelevant to the container.
ASSET_EXCLUDES = [
    ".venv", ".git", ".data", "node_modules", "cdk.out", "infra", "tests", "bench", "docs",
    "**/__pycache__", ".pytest_cache", ".ruff_cache", ".streamlit/secrets.toml",
]

class DashboardService(Construct):
    """Fargate service (Streamlit image), ALB, secrets, task role and CPU autoscaling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: DeployConfig,
        table: dynamodb.ITable,
        apps: tuple[CatalogApp, ...],
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.extra_env = dict(extra_env or {})  # the pipeline's names (ROLLUPS_TABLE, ...)
        self.network = Network(self, "Network", cfg=cfg)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.network.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.cookie_key = secretsmanager.Secret(
            self,
            "CookieKey",
            description="Central Analytics: HS256 key for the login cookie (AUTH_COOKIE_KEY)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        self.credentials = secretsmanager.Secret(
            self,
            "Credentials",
            description="Central Analytics: dashboard users, YAML (AUTH_CREDENTIALS_YAML)",
            secret_string_value=cdk.SecretValue.unsafe_plain_text(CREDENTIALS_PLACEHOLDER),
        )
        # With SSO on, Streamlit's [auth] section (client secret, cookie secret) must reach the
        # container as a file: the entrypoint writes this value to ~/.streamlit/secrets.toml.
        self.streamlit_secrets: secretsmanager.Secret | None = None
        if cfg.sso:
            self.streamlit_secrets = secretsmanager.Secret(
                self,
                "StreamlitSecrets",
                description="Central Analytics: secrets.toml with the OIDC [auth] section "
                "(STREAMLIT_SECRETS_TOML); fill from the stack's Sso* outputs",
                secret_string_value=cdk.SecretValue.unsafe_plain_text("# fill in [auth]\n"),
            )
        for secret in (self.cookie_key, self.credentials, self.streamlit_secrets):
            if secret is None:
                continue
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "Rotated by operators (docs/deploy.md): an automatic rotation of the cookie key "
                "would log every user out, and the credentials YAML is edited by hand.",
            )

        self.task_role = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Central Analytics dashboard: read metrics, alarms, logs, costs, tags",
        )
        for statement in task_role_statements(cfg, table, apps):
            self.task_role.add_to_policy(statement)
        acknowledge_wildcards(self.task_role, cfg, apps)

        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO_ROOT),
            file="Dockerfile",
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=ASSET_EXCLUDES,
        )
        self.service = self._service(cfg, table)
        self._tune_target_group()
        self.cache_tier: CacheTier | None = None
        if cfg.cache_enabled:  # several tasks: one cache, budgets and deny-list for all
            self.cache_tier = CacheTier(
                self, "CacheTier", cfg=cfg, vpc=self.network.vpc,
                subnets=self.network.vpc.select_subnets(
                    subnet_type=cdk.aws_ec2.SubnetType.PRIVATE_ISOLATED),
                clients=self.service.service.connections.security_groups[0],
                task_role=self.task_role)
            container = self.service.task_definition.default_container
            assert container is not None
            for key, value in self.cache_tier.env.items():
                container.add_environment(key, value)
        scaling = self.service.service.auto_scale_task_count(
            min_capacity=MIN_TASKS, max_capacity=cfg.max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=CPU_TARGET_PCT,
            scale_in_cooldown=cdk.Duration.minutes(10),
            scale_out_cooldown=cdk.Duration.minutes(1),
        )
        self._acknowledge_service_findings()

    def _service(
        self, cfg: DeployConfig, table: dynamodb.ITable
    ) -> ecs_patterns.ApplicationLoadBalancedFargateService:
        https = cfg.certificate_arn is not None
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", cfg.certificate_arn)
            if cfg.certificate_arn
            else None
        )
        log_group = logs.LogGroup(
            self,
            "ContainerLogs",
            retention=cfg.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=self.cluster,
            cpu=cfg.task_cpu,
            memory_limit_mib=cfg.task_memory_mib,
            desired_count=MIN_TASKS,
            min_healthy_percent=100,
            max_healthy_percent=200,
            public_load_balancer=True,
            assign_public_ip=True,  # no NAT gateway: see network.py
            task_subnets=cdk.aws_ec2.SubnetSelection(subnet_type=cdk.aws_ec2.SubnetType.PUBLIC),
            idle_timeout=cdk.Duration.seconds(IDLE_TIMEOUT_SECONDS),
            protocol=(elbv2.ApplicationProtocol.HTTPS if https else elbv2.ApplicationProtocol.HTTP),
            certificate=certificate,
            redirect_http=https,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS if https else None,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=cdk.Duration.seconds(60),
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_docker_image_asset(self.image),
                container_name="dashboard",
                container_port=CONTAINER_PORT,
                task_role=self.task_role,
                log_driver=ecs.LogDrivers.aws_logs(
                    stream_prefix="dashboard", log_group=log_group
                ),
                environment={
                    "ANALYTICS_BACKEND": "aws",
                    # the ALB's subnets: the only peers whose X-Forwarded-For names the client
                    "AUTH_TRUSTED_PROXIES": self.network.vpc.vpc_cidr_block,
                    "METRICS_TABLE": table.table_name,
                    "AWS_REGION": cfg.region,
                    "AWS_DEFAULT_REGION": cfg.region,
                    **self.extra_env,
                },
                secrets={
                    "AUTH_COOKIE_KEY": ecs.Secret.from_secrets_manager(self.cookie_key),
                    "AUTH_CREDENTIALS_YAML": ecs.Secret.from_secrets_manager(self.credentials),
                    **({"STREAMLIT_SECRETS_TOML": ecs.Secret.from_secrets_manager(
                        self.streamlit_secrets)} if self.streamlit_secrets else {}),
                },
            ),
        )
        if https:
            service.listener.set_attribute(
                "routing.http.response.strict_transport_security.header_value", HSTS)
        service.load_balancer.log_access_logs(self.network.access_log_bucket, prefix="alb")
        # Reject requests with malformed headers instead of forwarding them to Streamlit.
        service.load_balancer.set_attribute(
            "routing.http.drop_invalid_header_fields.enabled", "true"
        )
        return service

    def _tune_target_group(self) -> None:
        """Health check on Streamlit's endpoint, sticky sessions, quick deregistration."""
        tg = self.service.target_group
        tg.configure_health_check(
            path=HEALTH_CHECK_PATH,
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(30),
            timeout=cdk.Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        )
        # Streamlit sessions live in one process: reconnects must reach the same task.
        tg.enable_cookie_stickiness(STICKINESS)
        tg.set_attribute("deregistration_delay.timeout_seconds", "30")

    def _acknowledge_service_findings(self) -> None:
        acknowledge(
            self.service.load_balancer,
            "AwsSolutions-EC23",
            "The dashboard is a public web app protected by its own login (and optional "
            "Cognito SSO); the ALB must accept 0.0.0.0/0 on its listener ports.",
        )
        acknowledge(
            self.service.task_definition,
            "AwsSolutions-ECS2",
            "Only non-secret settings (backend name, table name, region) are plain environment "
            "variables; the cookie key and credentials come from Secrets Manager.",
        )
        execution_role = self.service.task_definition.execution_role
        if execution_role is not None:
            acknowledge(
                execution_role,
                "AwsSolutions-IAM5[Resource::*]",
                "The execution role's ecr:GetAuthorizationToken has no resource-level "
                "permissions; image pull and secret reads are scoped to their ARNs.",
            )
