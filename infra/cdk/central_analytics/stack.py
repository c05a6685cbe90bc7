"""The Central Analytics stack: wires one construct per concern and exports what operators need.

The stack stays thin on purpose; each concern (table, ingest, alarms, dashboard, SSO) is a
construct with its own tests, and this file only passes references between them.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from central_analytics.alarms import Alarms
from central_analytics.catalog import CatalogApp
from central_analytics.config import DeployConfig
from central_analytics.dashboard_service import DashboardService
from central_analytics.ingest_api import IngestApi
from central_analytics.metrics_table import MetricsTable
from central_analytics.pipeline import dashboard_env, dr_vault_name
from central_analytics.sso_user_pool import SsoUserPool


class CentralAnalyticsStack(cdk.Stack):
    """Metrics table, ingest API, alarms, Fargate dashboard and (optionally) Cognito SSO; the
    pipeline is a stack of its own (:mod:`central_analytics.pipeline`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: DeployConfig,
        apps: tuple[CatalogApp, ...],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.cfg = cfg
        self.apps = apps
        self.metrics = MetricsTable(self, "Metrics", replica_region=cfg.replica_region,
                                    dr_vault_name=dr_vault_name(cfg))
        self.ingest = IngestApi(
            self,
            "Ingest",
            cfg=cfg,
            table=self.metrics.table,
            apps=apps,
        )
        self.alarms = Alarms(self, "Alarms", cfg=cfg, ingest_function=self.ingest.function,
                             apps=apps)
        self.dashboard = DashboardService(
            self, "Dashboard", cfg=cfg, table=self.metrics.table, apps=apps,
            extra_env=dashboard_env(self, cfg),
        )
        self.sso: SsoUserPool | None = SsoUserPool(self, "Sso", cfg=cfg) if cfg.sso else None
        self._outputs()

    def _outputs(self) -> None:
        """Values operators copy into docs/deploy.md steps and app configurations."""
        lb = self.dashboard.service.load_balancer
        scheme = "https" if self.cfg.certificate_arn else "http"
        outputs: dict[str, tuple[str, str]] = {
            "MetricsTableName": (self.metrics.table.table_name, "DynamoDB metrics table"),
            "IngestApiUrl": (self.ingest.url, "Base URL of the ingest API (SigV4, execute-api)"),
            "IngestMetricsRouteArn": (self.ingest.metrics_route_arn,
                                      "execute-api:Invoke resource for POST /metrics"),
            "IngestHealthRouteArn": (self.ingest.health_route_arn,
                                     "execute-api:Invoke resource for GET /health"),
            "IngestInvokePolicyArn": (self.ingest.invoke_policy.managed_policy_arn,
                                      "Managed policy to attach to publishing apps' roles"),
            "AlarmTopicArn": (self.alarms.topic.topic_arn, "SNS topic of all alarms"),
            "DashboardUrl": (f"{scheme}://{lb.load_balancer_dns_name}",
                             "Dashboard URL (point your DNS CNAME/alias here)"),
            "CookieKeySecretArn": (self.dashboard.cookie_key.secret_arn,
                                   "Secrets Manager secret injected as AUTH_COOKIE_KEY"),
            "CredentialsSecretArn": (self.dashboard.credentials.secret_arn,
                                     "Secrets Manager secret injected as AUTH_CREDENTIALS_YAML"),
        }
        if self.sso is not None:
            outputs["SsoIssuerUrl"] = (f"https://{self.sso.issuer_url}", "OIDC issuer")
            outputs["SsoClientId"] = (self.sso.client.user_pool_client_id, "OIDC client id")
            outputs["SsoDomain"] = (self.sso.domain.base_url(), "Cognito hosted UI base URL")
        for key, (value, description) in outputs.items():
            cdk.CfnOutput(self, key, value=value, description=description)
