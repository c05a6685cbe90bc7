"""Typed settings from the environment and ``.streamlit/secrets.toml``: the one reader of both.

The environment wins over secrets.toml's ``[analytics]`` table, so a container can override a
baked-in file; a variable set to an empty string counts as unset. Every module takes what it
needs from :class:`Settings` instead of reading ``os.environ`` itself, so the tests can inject
one mapping. Nothing here imports streamlit: secrets.toml is read with :mod:`tomllib`, which
lets the data layer, the CLI tools and the tests share the dashboard's configuration rules.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from analytics.core.validation import first_problem

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("local", "aws")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message says which and how to fix it."""


def _bool(raw: Any) -> bool:
    v = str(raw).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("expected an integer") from None


def _float(raw: Any) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("expected a number") from None


def _one_of(choices: tuple[str, ...], *, upper: bool = False) -> BeforeValidator:
    def check(raw: Any) -> str:
        v = str(raw).strip()
        v = v.upper() if upper else v.lower()
        if v not in choices:
            raise ValueError(f"expected one of {choices}")
        return v
    return BeforeValidator(check)


def _cache_url(raw: Any) -> Any:
    text = str(raw).strip()
    if not text.startswith(("redis://", "rediss://")):
        raise ValueError("expected redis://host:port (or rediss:// for TLS)")
    return text


def _stripped(raw: Any) -> Any:
    return raw.strip() if isinstance(raw, str) else raw


#: Variables arrive as text (secrets.toml values are turned into text too): parse them here.
EnvBool = Annotated[bool, BeforeValidator(_bool)]
EnvInt = Annotated[int, BeforeValidator(_int)]
EnvFloat = Annotated[float, BeforeValidator(_float)]
Secret = Annotated[SecretStr, BeforeValidator(_stripped)]


class AuthSettings(BaseModel):
    """The sign-in variables, as given. Not judged here: the cookie values still meet
    secrets.toml's ``[auth_cookie]`` table (in Streamlit's secrets, which the login page reads
    per run) in :mod:`analytics.auth.config`, which validates the merged result."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    cookie_name: str | None = Field(default=None, validation_alias="AUTH_COOKIE_NAME")
    cookie_key: Secret | None = Field(default=None, validation_alias="AUTH_COOKIE_KEY")
    cookie_expiry_days: str | None = Field(default=None, validation_alias="AUTH_COOKIE_EXPIRY_DAYS")
    credentials_yaml: SecretStr | None = Field(default=None,
                                               validation_alias="AUTH_CREDENTIALS_YAML")
    credentials_file: Path | None = Field(default=None, validation_alias="AUTH_CREDENTIALS_FILE")
    #: Networks of the load balancer: the only peers whose X-Forwarded-For is believed.
    trusted_proxies: str | None = Field(default=None, validation_alias="AUTH_TRUSTED_PROXIES")


class Settings(BaseModel):
    """Every setting, validated from the variables named by each field's alias."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    backend: Annotated[str, _one_of(BACKENDS)] = Field(validation_alias="ANALYTICS_BACKEND")
    catalog_path: Path = Field(default=ROOT / "apps.toml", validation_alias="ANALYTICS_CATALOG")
    data_dir: Path = Field(default=ROOT / ".data", validation_alias="ANALYTICS_DATA_DIR")
    duckdb_path: Path = Field(validation_alias="ANALYTICS_DUCKDB")
    region: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")
    metrics_table: str = Field(default="central-analytics-metrics",
                               validation_alias="METRICS_TABLE")
    connect_timeout: EnvFloat = Field(default=3.0, validation_alias="AWS_CONNECT_TIMEOUT")
    #: Read timeout of the reads page views make: a hung endpoint fails in seconds.
    read_timeout: EnvFloat = Field(default=10.0, validation_alias="AWS_READ_TIMEOUT")
    #: Read timeout of background work nobody waits on (scheduled refreshes).
    background_read_timeout: EnvFloat = Field(default=30.0,
                                              validation_alias="AWS_BACKGROUND_READ_TIMEOUT")
    max_attempts: EnvInt = Field(default=3, validation_alias="AWS_MAX_ATTEMPTS")
    #: What a page view waits for its data before it shows "still loading" and the last value.
    page_deadline_s: EnvFloat = Field(default=8.0, validation_alias="ANALYTICS_PAGE_DEADLINE_S")
    logs_query_timeout_s: EnvFloat = Field(default=20.0, validation_alias="LOGS_QUERY_TIMEOUT_S")
    simulator_seed: EnvInt = Field(default=7, validation_alias="SIMULATOR_SEED")
    simulator_live: EnvBool = Field(default=True, validation_alias="SIMULATOR_LIVE")
    simulator_tick_s: EnvFloat = Field(default=5.0, validation_alias="SIMULATOR_TICK_S")
    history_days: EnvInt = Field(default=14, validation_alias="SIMULATOR_HISTORY_DAYS")
    ingest_port: EnvInt = Field(default=8787, validation_alias="INGEST_PORT")
    ingest_enabled: EnvBool = Field(default=True, validation_alias="INGEST_ENABLED")
    #: The local ingest endpoint's bearer token; None: a random one kept in the data dir.
    ingest_token: Secret | None = Field(default=None, validation_alias="INGEST_TOKEN")
    #: The Lambda logger's level in the local endpoint (one JSON line per request at INFO).
    ingest_log_level: Annotated[str, _one_of(LOG_LEVELS, upper=True)] = Field(
        default="WARNING", validation_alias="INGEST_LOG_LEVEL")
    dashboard_port: EnvInt = Field(default=8501, validation_alias="DASHBOARD_PORT")
    #: The pipeline's stores and delivery (aws); the table name is the CDK stack's output.
    rollups_table: str = Field(default="central-analytics-rollups",
                               validation_alias="ROLLUPS_TABLE")
    reports_bucket: str | None = Field(default=None, validation_alias="REPORTS_BUCKET")
    reports_topic_arn: str | None = Field(default=None, validation_alias="REPORTS_TOPIC_ARN")
    pipeline_state_machine_arn: str | None = Field(
        default=None, validation_alias="PIPELINE_STATE_MACHINE_ARN")
    #: How long a report link sent by SNS stays valid (a presigned URL is also cut short when
    #: the signing role's session ends).
    report_link_ttl_s: EnvInt = Field(default=86400, validation_alias="REPORT_LINK_TTL_S")
    #: Local backend: run the pipeline daily and back the store up in the dashboard process.
    #: Defaults to SIMULATOR_LIVE, so tests and benches on a static store run neither.
    local_schedule: EnvBool = Field(validation_alias="LOCAL_SCHEDULE")
    backup_interval_h: EnvFloat = Field(default=6.0, validation_alias="LOCAL_BACKUP_INTERVAL_H")
    backup_keep: EnvInt = Field(default=8, validation_alias="LOCAL_BACKUP_KEEP")
    #: The shared cache tier every task reads through (``redis://`` or ``rediss://`` for TLS);
    #: None: each process caches alone (L1 only). May hold a password: kept secret.
    cache_url: Annotated[SecretStr | None, BeforeValidator(_cache_url)] = Field(
        default=None, validation_alias="ANALYTICS_CACHE_URL")
    #: Connect and per-command timeout of the tier: a slow tier costs a page at most this.
    cache_timeout_s: EnvFloat = Field(default=0.25, validation_alias="ANALYTICS_CACHE_TIMEOUT_S")
    #: After a tier error, how long nobody waits for it before it is tried again.
    cache_retry_s: EnvFloat = Field(default=5.0, validation_alias="ANALYTICS_CACHE_RETRY_S")
    #: Lifetime of a key's load lock (renewed while its holder loads; lapses if it dies).
    cache_lock_s: EnvFloat = Field(default=15.0, validation_alias="ANALYTICS_CACHE_LOCK_S")
    #: The tier is a cluster (ElastiCache Serverless): use redis-py's cluster client.
    cache_cluster: EnvBool = Field(default=False, validation_alias="ANALYTICS_CACHE_CLUSTER")
    #: ElastiCache IAM authentication: the serverless cache's name (the URL's user signs in
    #: with a SigV4 token of the task role instead of a password).
    cache_iam_cache_name: str | None = Field(default=None,
                                             validation_alias="ANALYTICS_CACHE_IAM_CACHE_NAME")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    secrets: Mapping[str, Any] = Field(default_factory=dict, repr=False)
    #: The variables above that the environment set (the others came from secrets.toml or
    #: are defaults), so a message can tell the operator which one to edit.
    from_env: frozenset[str] = Field(default_factory=frozenset, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        """The defaults that depend on other variables: the backend and the DuckDB file."""
        if not isinstance(data, dict):
            return data
        backend = "aws" if aws_configured(data) else "local"
        data_dir = data.get("ANALYTICS_DATA_DIR", ROOT / ".data")
        return {"ANALYTICS_BACKEND": backend,
                "ANALYTICS_DUCKDB": Path(data_dir) / "analytics.duckdb",
                "LOCAL_SCHEDULE": data.get("SIMULATOR_LIVE", "true"), **data}

    @property
    def backup_dir(self) -> Path:
        """Where the local backend keeps its store's backup copies."""
        return self.data_dir / "backups"

    @model_validator(mode="after")
    def _aws_needs_a_region(self) -> Settings:
        if self.backend == "aws" and not self.region:
            raise ValueError("ANALYTICS_BACKEND=aws needs AWS_REGION (e.g. AWS_REGION=us-east-1)")
        return self


def _variables(*models: type[BaseModel]) -> frozenset[str]:
    names: set[str] = set()
    for model in models:
        for info in model.model_fields.values():
            alias = info.validation_alias
            choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
            names.update(c for c in choices if isinstance(c, str))
    return frozenset(names)


VARIABLES = _variables(Settings, AuthSettings)


def read_secrets(path: Path | None = None) -> dict[str, Any]:
    """Parse ``.streamlit/secrets.toml`` if present (an absent file is an empty mapping)."""
    p = path or ROOT / ".streamlit" / "secrets.toml"
    if not p.is_file():
        return {}
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{p}: not valid TOML: {exc}") from exc


def aws_configured(env: Mapping[str, Any]) -> bool:
    """True when a region and some credential source are configured in the environment."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    creds = any(
        env.get(k)
        for k in (
            "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
        )
    )
    return bool(region and creds)


def _given(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if str(v).strip()}


def load_settings(env: Mapping[str, str] | None = None, *,
                  secrets: Mapping[str, Any] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``) and secrets.toml.

    Keys in secrets.toml's ``[analytics]`` table use the same names as the variables
    (``ANALYTICS_BACKEND`` …); the environment takes precedence. ``INGEST_TOKEN`` may also sit
    at the top level of secrets.toml, where Streamlit's documentation puts secrets.
    """
    env = _given(os.environ if env is None else env)
    secrets = read_secrets() if secrets is None else dict(secrets)
    table = _given(dict(secrets.get("analytics", {})))
    top_token = secrets.get("INGEST_TOKEN")
    if isinstance(top_token, str) and top_token.strip():
        table.setdefault("INGEST_TOKEN", top_token)
    merged = {**table, **env}
    try:
        return Settings.model_validate({**merged, "auth": merged, "secrets": secrets,
                                        "from_env": VARIABLES & set(env)})
    except ValidationError as exc:
        problem = first_problem(exc)
        name = problem.path.rpartition(".")[2]
        raise SettingsError(f"{name}={problem.value!r}: {problem.message}" if name
                            else problem.message) from None
