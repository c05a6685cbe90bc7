"""Deployment settings read from CDK context (``cdk synth -c key=value`` or ``cdk.json``).

Every knob lives here, with its default, so the constructs never call ``try_get_context`` on
their own: one place to read, one place to test. Values passed with ``-c`` on the command line
arrive as strings, so the parsers accept ``"true"``/``"1000"`` as well as JSON booleans/numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aws_cdk import aws_logs as logs

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_REGION = "us-east-1"
DEFAULT_CALLBACK_URL = "https://localhost:8501/oauth2callback"
# Newest AWSLambdaPowertoolsPythonV3 layer version seen for python3.14/arm64 (late 2026). The
# layer is published with the same version number in every commercial region; override with
# ``-c powertools_layer_version=NN`` or a full ``-c powertools_layer_arn=...``.
DEFAULT_POWERTOOLS_LAYER_VERSION = 38
POWERTOOLS_ACCOUNT = "017000801446"

T = TypeVar("T")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
#: The context key that accepts a public HTTP-only load balancer (named as operators type it).
INSECURE_HTTP_KEY = "allowInsecureHttp"

# CloudWatch Logs only accepts these retention periods (days).
RETENTION_CHOICES: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


class ConfigError(ValueError):
    """A context value is invalid; the message names the key and the expected form."""


def _as_bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"context {key}={raw!r}: expected true or false")


def _as_float(key: str, raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"context {key}={raw!r}: expected a number") from exc


def _as_int(key: str, raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"context {key}={raw!r}: expected an integer") from exc


def _as_names(key: str, raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    names = tuple(str(i).strip() for i in items if str(i).strip())
    for name in names:
        if not name.startswith("/") or " " in name:
            raise ConfigError(f"context {key}: {name!r} is not a log group name or pattern "
                              "(e.g. /teams/shop/*)")
    return names


def _as_list(key: str, raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    return tuple(str(i).strip() for i in items if str(i).strip())


def _as_json_object(key: str, raw: Any) -> str:
    try:
        value = raw if isinstance(raw, dict) else json.loads(str(raw))
    except ValueError as exc:
        raise ConfigError(f"context {key}: not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"context {key}: expected a JSON object of group -> grant")
    return json.dumps(value, sort_keys=True)


def _as_opt_str(_key: str, raw: Any) -> str | None:
    text = str(raw).strip() if raw is not None else ""
    return text or None


@dataclass(frozen=True)
class DeployConfig:
    """Everything that varies between deployments of the Central Analytics stack."""

    region: str = DEFAULT_REGION
    account: str | None = None
    environment: str = "production"
    cost_center: str = "analytics"
    catalog_path: Path = REPO_ROOT / "apps.toml"
    high_cost_threshold: float = 1000.0
    certificate_arn: str | None = None
    sso: bool = False
    sso_callback_url: str = DEFAULT_CALLBACK_URL
    sso_domain_prefix: str | None = None
    alarm_email: str | None = None
    powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION
    powertools_layer_arn: str | None = None
    ingest_rate_limit: float = 50.0
    ingest_burst_limit: int = 100
    retention_days: int = 90
    task_cpu: int = 1024
    task_memory_mib: int = 2048
    log_retention_days: int = 30
    #: A second region (``-c replicaRegion=eu-west-1``): table replicas, report replication,
    #: backup copies there, and a standby dashboard stack (docs/dr.md).
    replica_region: str | None = None
    #: Log groups beyond ``/aws/lambda/*`` the dashboard may run Logs Insights on (functions
    #: with a custom ``LoggingConfig.LogGroup``): names or ``*`` patterns, comma-separated.
    log_group_patterns: tuple[str, ...] = ()
    #: ``-c allowInsecureHttp=true``: deploy without a certificate (a public HTTP listener:
    #: passwords and session cookies in clear). Refused unless given explicitly.
    allow_insecure_http: bool = False
    #: IAM principals (ARNs or patterns) that read every app through the read API.
    api_admin_principals: tuple[str, ...] = ()
    #: Cognito groups of the read API: JSON ``{"group": {"role": "admin"|"viewer",
    #: "apps": [...]}}`` (no ``apps``: every app).
    api_groups: str = "{}"
    #: Most dashboard tasks the CPU autoscaling may run (1: a single task, never scaled out).
    max_tasks: int = 4
    #: The shared cache tier (``-c cache_tier=auto|on|off``): auto = on when ``max_tasks`` > 1.
    cache_tier: str = "auto"
    #: Usage limits of the serverless cache: they cap its bill (docs/deploy.md).
    cache_max_gb: int = 1
    cache_max_ecpu_per_second: int = 5000

    @property
    def cache_enabled(self) -> bool:
        """Whether the stack deploys the shared cache tier (and hands its URL to the task)."""
        return self.cache_tier == "on" or (self.cache_tier == "auto" and self.max_tasks > 1)

    @property
    def is_billing_region(self) -> bool:
        """AWS/Billing metrics exist only in us-east-1, so the cost alarm can only live there."""
        return self.region == "us-east-1"

    @property
    def log_retention(self) -> logs.RetentionDays:
        """The CloudWatch Logs retention for every log group of the stack."""
        return RETENTION_CHOICES[self.log_retention_days]

    @property
    def domain_prefix(self) -> str:
        """Cognito hosted-UI domain prefix; unique per region, so it includes the environment."""
        return self.sso_domain_prefix or f"central-analytics-{self.environment}"


def _pick(
    ctx: Mapping[str, Any], key: str, parse: Callable[[str, Any], T], default: T
) -> T:
    raw = ctx.get(key)
    if raw is None:
        return default
    return parse(key, raw)


def load_config(ctx: Mapping[str, Any]) -> DeployConfig:
    """Build a :class:`DeployConfig` from a context mapping.

    ``region`` defaults to us-east-1 (the only region with billing metrics) rather than to the
    CLI profile's region, so the template never depends on who runs ``cdk synth``; ``account``
    stays unset unless given, so an offline synth needs no credentials and no context lookups.
    """
    d = DeployConfig()
    region = _pick(ctx, "region", _as_opt_str, None)
    callback = _pick(ctx, "sso_callback_url", _as_opt_str, None) or d.sso_callback_url
    catalog = _pick(ctx, "catalog_path", _as_opt_str, None)
    cfg = DeployConfig(
        region=region or DEFAULT_REGION,
        account=_pick(ctx, "account", _as_opt_str, None),
        environment=_pick(ctx, "environment", _as_opt_str, None) or d.environment,
        cost_center=_pick(ctx, "cost_center", _as_opt_str, None) or d.cost_center,
        catalog_path=Path(catalog) if catalog else d.catalog_path,
        high_cost_threshold=_pick(ctx, "high_cost_threshold", _as_float, d.high_cost_threshold),
        certificate_arn=_pick(ctx, "certificate_arn", _as_opt_str, None),
        sso=_pick(ctx, "sso", _as_bool, d.sso),
        sso_callback_url=callback,
        sso_domain_prefix=_pick(ctx, "sso_domain_prefix", _as_opt_str, None),
        alarm_email=_pick(ctx, "alarm_email", _as_opt_str, None),
        powertools_layer_version=_pick(
            ctx, "powertools_layer_version", _as_int, d.powertools_layer_version
        ),
        powertools_layer_arn=_pick(ctx, "powertools_layer_arn", _as_opt_str, None),
        ingest_rate_limit=_pick(ctx, "ingest_rate_limit", _as_float, d.ingest_rate_limit),
        ingest_burst_limit=_pick(ctx, "ingest_burst_limit", _as_int, d.ingest_burst_limit),
        retention_days=_pick(ctx, "retention_days", _as_int, d.retention_days),
        task_cpu=_pick(ctx, "task_cpu", _as_int, d.task_cpu),
        task_memory_mib=_pick(ctx, "task_memory_mib", _as_int, d.task_memory_mib),
        log_retention_days=_pick(ctx, "log_retention_days", _as_int, d.log_retention_days),
        replica_region=_pick(ctx, "replica_region", _as_opt_str, None),
        log_group_patterns=_pick(ctx, "log_group_patterns", _as_names, d.log_group_patterns),
        allow_insecure_http=_pick(ctx, INSECURE_HTTP_KEY, _as_bool, d.allow_insecure_http),
        api_admin_principals=_pick(ctx, "api_admin_principals", _as_list, ()),
        api_groups=_pick(ctx, "api_groups", _as_json_object, d.api_groups),
        max_tasks=_pick(ctx, "max_tasks", _as_int, d.max_tasks),
        cache_tier=(_pick(ctx, "cache_tier", _as_opt_str, None) or d.cache_tier).lower(),
        cache_max_gb=_pick(ctx, "cache_max_gb", _as_int, d.cache_max_gb),
        cache_max_ecpu_per_second=_pick(ctx, "cache_max_ecpu_per_second", _as_int,
                                        d.cache_max_ecpu_per_second),
    )
    _validate(cfg)
    return cfg


def check_transport(cfg: DeployConfig) -> None:
    """Refuse a public HTTP-only listener unless the operator asked for one explicitly.

    Checked when the stack is built, not when the context is parsed: reading a configuration
    is harmless, deploying the dashboard without TLS is not.
    """
    if not cfg.certificate_arn and not cfg.allow_insecure_http:
        raise ConfigError(
            "refusing to synthesize a public HTTP-only load balancer (sign-in passwords and "
            "session cookies would cross the internet in clear): give -c certificate_arn=<ACM "
            f"ARN>, or -c {INSECURE_HTTP_KEY}=true for a throwaway test deployment")


def _validate(cfg: DeployConfig) -> None:
    """Reject values CloudFormation would only reject minutes into a deployment."""
    if cfg.high_cost_threshold <= 0:
        raise ConfigError("context high_cost_threshold must be > 0 (USD per month)")
    if cfg.certificate_arn and not cfg.certificate_arn.startswith("arn:"):
        raise ConfigError(f"context certificate_arn={cfg.certificate_arn!r}: expected an ACM ARN")
    if not cfg.sso_callback_url.startswith("https://"):
        raise ConfigError("context sso_callback_url must be an https:// URL (Cognito requires it)")
    if cfg.ingest_rate_limit <= 0 or cfg.ingest_burst_limit <= 0:
        raise ConfigError("context ingest_rate_limit/ingest_burst_limit must be > 0")
    if cfg.log_retention_days not in RETENTION_CHOICES:
        raise ConfigError(
            f"context log_retention_days={cfg.log_retention_days}: "
            f"expected one of {sorted(RETENTION_CHOICES)}"
        )
    if cfg.retention_days < 1:
        raise ConfigError("context retention_days must be >= 1")
    if cfg.max_tasks < 1:
        raise ConfigError("context max_tasks must be >= 1")
    if cfg.cache_tier not in ("auto", "on", "off"):
        raise ConfigError(f"context cache_tier={cfg.cache_tier!r}: expected auto, on or off")
    if cfg.cache_max_gb < 1 or not 1000 <= cfg.cache_max_ecpu_per_second <= 15_000_000:
        raise ConfigError("context cache_max_gb must be >= 1 and cache_max_ecpu_per_second "
                          "between 1000 and 15000000")
    if cfg.replica_region is not None:
        if not REGION_RE.fullmatch(cfg.replica_region):
            raise ConfigError(f"context replicaRegion={cfg.replica_region!r}: expected a region "
                              "such as eu-west-1")
        if cfg.replica_region == cfg.region:
            raise ConfigError(f"context replicaRegion={cfg.replica_region!r} is the stack's own "
                              "region: a replica must live in another region")

