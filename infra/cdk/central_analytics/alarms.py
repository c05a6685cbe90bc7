"""CloudWatch alarms and the encrypted SNS topic they notify.

Alarm names matter: the dashboard lists alarms by each app's ``alarm_prefix`` (DescribeAlarms
with AlarmNamePrefix), so every per-app alarm name starts with that prefix and the stack's own
alarms start with ``central-analytics-``. The topic is encrypted with a customer-managed KMS key
because CloudWatch cannot publish to a topic encrypted with the AWS-managed ``aws/sns`` key.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from central_analytics.catalog import CatalogApi, CatalogApp
from central_analytics.config import DeployConfig

OWN_PREFIX = "central-analytics-"
FIVE_MINUTES = cdk.Duration.minutes(5)
API_5XX_RATE_THRESHOLD_PCT = 5.0
APP_LAMBDA_ERRORS_THRESHOLD = 5
INGEST_ERRORS_THRESHOLD = 10


def _prefixed(prefix: str, name: str, suffix: str) -> str:
    """``prefix + name + suffix`` without doubling a prefix the resource name already has."""
    base = name if name.startswith(prefix) else f"{prefix}{name}"
    return f"{base}{suffix}"


def api_5xx_rate(api: CatalogApi) -> cloudwatch.MathExpression:
    """100 * 5xx / Count for one API; HTTP and REST APIs publish different names and dims."""
    if api.kind == "http":
        dims = {"ApiId": api.id}
        errors_name = "5xx"
    else:
        dims = {"ApiName": api.name, "Stage": api.stage}
        errors_name = "5XXError"
    metric = {"namespace": "AWS/ApiGateway", "dimensions_map": dims, "period": FIVE_MINUTES}
    return cloudwatch.MathExpression(
        expression="100 * errors / requests",
        using_metrics={
            "errors": cloudwatch.Metric(metric_name=errors_name, statistic="Sum", **metric),
            "requests": cloudwatch.Metric(metric_name="Count", statistic="Sum", **metric),
        },
        label=f"{api.name} 5xx rate (%)",
        period=FIVE_MINUTES,
    )


class Alarms(Construct):
    """The alarm topic plus platform alarms (ingest errors, cost) and per-app alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: DeployConfig,
        ingest_function: lambda_.IFunction,
        apps: tuple[CatalogApp, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the Central Analytics alarm topic",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # CloudWatch alarms publish as the cloudwatch service and need the data key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Central Analytics alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # enforce_ssl replaces SNS's default topic policy, so allow CloudWatch explicitly.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            )
        )
        if cfg.alarm_email:
            self.topic.add_subscription(subs.EmailSubscription(cfg.alarm_email))
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        self._add(
            "HighErrorRate",
            f"{OWN_PREFIX}HighErrorRate",
            ingest_function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            threshold=INGEST_ERRORS_THRESHOLD,
            periods=2,
            description="Ingest Lambda errors >= 10 per 5 minutes, two periods in a row",
        )
        self.high_cost: cloudwatch.Alarm | None = None
        if cfg.is_billing_region:
            self.high_cost = self._add(
                "HighCost",
                f"{OWN_PREFIX}HighCost",
                cloudwatch.Metric(
                    namespace="AWS/Billing",
                    metric_name="EstimatedCharges",
                    dimensions_map={"Currency": "USD"},
                    statistic="Maximum",
                    period=cdk.Duration.hours(6),
                ),
                threshold=cfg.high_cost_threshold,
                periods=1,
                description=f"Estimated month-to-date AWS charges >= {cfg.high_cost_threshold} USD",
            )
        else:
            cdk.Annotations.of(self).add_warning_v2(
                "central-analytics:no-billing-alarm",
                f"HighCost alarm skipped: AWS/Billing metrics exist only in us-east-1, "
                f"this stack deploys to {cfg.region}.",
            )
        for app in apps:
            self._app_alarms(app)

    def _add(
        self,
        construct_id: str,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        periods: int,
        description: str,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        """Create one alarm that notifies the topic on ALARM and on OK."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _app_alarms(self, app: CatalogApp) -> None:
        """A 5xx-rate alarm per API and an errors alarm per Lambda of one catalog app."""
        for api in app.apis:
            self._add(
                f"{app.id}-{api.id}-5xxRate",
                _prefixed(app.alarm_prefix, api.name, "-5xx-rate"),
                api_5xx_rate(api),
                threshold=API_5XX_RATE_THRESHOLD_PCT,
                periods=2,
                description=f"{app.id}: {api.name} returns >= 5% 5xx for 10 minutes",
            )
        for fn in app.lambdas:
            self._add(
                f"{app.id}-{fn}-Errors",
                _prefixed(app.alarm_prefix, fn, "-errors"),
                cloudwatch.Metric(
                    namespace="AWS/Lambda",
                    metric_name="Errors",
                    dimensions_map={"FunctionName": fn},
                    statistic="Sum",
                    period=FIVE_MINUTES,
                ),
                threshold=APP_LAMBDA_ERRORS_THRESHOLD,
                periods=1,
                description=f"{app.id}: Lambda {fn} has >= 5 errors in 5 minutes",
            )
