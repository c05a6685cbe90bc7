"""The ingest Lambda's environment: which apps may write, their EMF namespaces, the IAM
principals per app and the cardinality caps, each read from one environment variable.

Kept apart from the handler so the read API's Lambda (which writes through the same handler)
reads ``INGEST_PRINCIPALS`` with the same rules.
"""

from __future__ import annotations

import json
import os

from .guard import (
    Caps,
)


def default_namespace(app_id: str) -> str:
    """EMF namespace of an app without an explicit mapping."""
    return f"Application/{app_id}"


def parse_allowed_apps(spec: str) -> frozenset[str]:
    """``"jobseek, ilikeyacut"`` -> frozenset; empty means no app may write (fail closed)."""
    return frozenset(part.strip() for part in spec.split(",") if part.strip())


def parse_namespaces(spec: str) -> dict[str, str]:
    """``"jobseek=JobSeek/Business,ilikeyacut=ILikeYaCut/Business"`` -> {app: namespace}.

    CloudWatch namespaces cannot contain ``,`` or ``=``, so this flat form is unambiguous.
    """
    pairs = (part.split("=", 1) for part in spec.split(",") if "=" in part)
    return {app.strip(): ns.strip() for app, ns in pairs if app.strip() and ns.strip()}


def parse_principals(spec: str) -> dict[str, list[str]]:
    """``INGEST_PRINCIPALS``: JSON ``{"app": ["arn:aws:iam::123:role/writer", ...]}``."""
    if not spec.strip():
        return {}
    data = json.loads(spec)
    if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in data.values()):
        raise ValueError("INGEST_PRINCIPALS must be a JSON object of app -> list of ARNs")
    return {str(k): list(v) for k, v in data.items()}


def parse_caps(spec: str) -> dict[str, Caps]:
    """``INGEST_CAPS``: JSON ``{"app": [max_metric_names, max_dimension_sets]}``."""
    if not spec.strip():
        return {}
    return {str(app): Caps(int(v[0]), int(v[1])) for app, v in json.loads(spec).items()}


def env_flag(name: str, default: bool) -> bool:
    """Read a boolean environment variable (true/1/yes/on)."""
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}
