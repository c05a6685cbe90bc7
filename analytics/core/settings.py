"""Typed settings from the environment and ``.streamlit/secrets.toml``.

The environment wins over secrets.toml so a container can override a baked-in file. Nothing here
imports streamlit: secrets.toml is read with :mod:`tomllib`, which lets the data layer, the CLI
tools and the tests share exactly the same configuration rules as the running dashboard.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("local", "aws")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    backend: str
    catalog_path: Path
    data_dir: Path
    duckdb_path: Path
    region: str | None = None
    endpoint_url: str | None = None
    metrics_table: str = "central-analytics-metrics"
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_attempts: int = 3
    logs_query_timeout_s: float = 20.0
    simulator_seed: int = 7
    simulator_live: bool = True
    simulator_tick_s: float = 5.0
    history_days: int = 14
    ingest_port: int = 8787
    ingest_enabled: bool = True
    secrets: Mapping[str, Any] = field(default_factory=dict, repr=False)


def read_secrets(path: Path | None = None) -> dict[str, Any]:
    """Parse ``.streamlit/secrets.toml`` if present (an absent file is an empty mapping)."""
    p = path or ROOT / ".streamlit" / "secrets.toml"
    if not p.is_file():
        return {}
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{p}: not valid TOML: {exc}") from exc


def aws_configured(env: Mapping[str, str]) -> bool:
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


def _bool(name: str, raw: str) -> bool:
    v = raw.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r}: expected true or false")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r}: expected an integer") from exc


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r}: expected a number") from exc


def load_settings(
    env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``) and secrets.toml.

    Keys in secrets.toml's ``[analytics]`` table use the same names as the variables
    (``ANALYTICS_BACKEND`` …); the environment takes precedence.
    """
    env = dict(os.environ if env is None else env)
    secrets = read_secrets() if secrets is None else dict(secrets)
    merged: dict[str, str] = {k: str(v) for k, v in dict(secrets.get("analytics", {})).items()}
    merged.update(env)

    backend = merged.get("ANALYTICS_BACKEND", "").strip().lower()
    if not backend:
        backend = "aws" if aws_configured(merged) else "local"
    if backend not in BACKENDS:
        raise SettingsError(f"ANALYTICS_BACKEND={backend!r}: expected one of {BACKENDS}")

    data_dir = Path(merged.get("ANALYTICS_DATA_DIR", str(ROOT / ".data")))
    region = merged.get("AWS_REGION") or merged.get("AWS_DEFAULT_REGION") or None
    if backend == "aws" and not region:
        raise SettingsError("ANALYTICS_BACKEND=aws needs AWS_REGION (e.g. AWS_REGION=us-east-1)")
    return Settings(
        backend=backend,
        catalog_path=Path(merged.get("ANALYTICS_CATALOG", str(ROOT / "apps.toml"))),
        data_dir=data_dir,
        duckdb_path=Path(merged.get("ANALYTICS_DUCKDB", str(data_dir / "analytics.duckdb"))),
        region=region,
        endpoint_url=merged.get("AWS_ENDPOINT_URL") or None,
        metrics_table=merged.get("METRICS_TABLE", "central-analytics-metrics"),
        connect_timeout=_float("AWS_CONNECT_TIMEOUT", merged.get("AWS_CONNECT_TIMEOUT", "3")),
        read_timeout=_float("AWS_READ_TIMEOUT", merged.get("AWS_READ_TIMEOUT", "10")),
        max_attempts=_int("AWS_MAX_ATTEMPTS", merged.get("AWS_MAX_ATTEMPTS", "3")),
        logs_query_timeout_s=_float("LOGS_QUERY_TIMEOUT_S",
                                    merged.get("LOGS_QUERY_TIMEOUT_S", "20")),
        simulator_seed=_int("SIMULATOR_SEED", merged.get("SIMULATOR_SEED", "7")),
        simulator_live=_bool("SIMULATOR_LIVE", merged.get("SIMULATOR_LIVE", "true")),
        simulator_tick_s=_float("SIMULATOR_TICK_S", merged.get("SIMULATOR_TICK_S", "5")),
        history_days=_int("SIMULATOR_HISTORY_DAYS", merged.get("SIMULATOR_HISTORY_DAYS", "14")),
        ingest_port=_int("INGEST_PORT", merged.get("INGEST_PORT", "8787")),
        ingest_enabled=_bool("INGEST_ENABLED", merged.get("INGEST_ENABLED", "true")),
        secrets=secrets,
    )
