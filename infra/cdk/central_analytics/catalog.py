"""The slice of ``apps.toml`` the infrastructure needs: APIs, Lambda names and alarm prefixes.

The CDK app deliberately does not import the dashboard's ``analytics`` package: the CDK
virtualenv and the container image have different dependencies, and a refactor of the dashboard
must never break a deployment. The parsing here is small and strict on the fields it uses.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

API_KINDS = ("http", "rest")


class CatalogError(ValueError):
    """``apps.toml`` lacks a field the stack needs; the message names the app and the field."""


@dataclass(frozen=True)
class CatalogApi:
    """An API Gateway API: HTTP APIs are measured by ``ApiId``, REST APIs by ``ApiName``+Stage."""

    id: str
    name: str
    kind: str
    stage: str


@dataclass(frozen=True)
class CatalogApp:
    """One monitored application and the resources the stack alarms on."""

    id: str
    alarm_prefix: str
    namespace: str
    apis: tuple[CatalogApi, ...]
    lambdas: tuple[str, ...]


def _api(app_id: str, raw: Any) -> CatalogApi:
    if not isinstance(raw, dict):
        raise CatalogError(f"apps.{app_id}.resources.apis: each entry must be a table")
    kind = str(raw.get("kind", "http"))
    if kind not in API_KINDS:
        raise CatalogError(f"apps.{app_id}.resources.apis: kind={kind!r}, expected {API_KINDS}")
    for key in ("id", "name"):
        if not raw.get(key):
            raise CatalogError(f"apps.{app_id}.resources.apis: entry without {key!r}")
    return CatalogApi(
        id=str(raw["id"]),
        name=str(raw["name"]),
        kind=kind,
        stage=str(raw.get("stage", "$default" if kind == "http" else "prod")),
    )


def parse_catalog(text: str) -> tuple[CatalogApp, ...]:
    """Parse catalog TOML text into apps sorted by id (stable construct ids across synths)."""
    data = tomllib.loads(text)
    apps_raw = data.get("apps")
    if not isinstance(apps_raw, dict) or not apps_raw:
        raise CatalogError("apps.toml: no [apps.<id>] tables")
    apps: list[CatalogApp] = []
    for app_id in sorted(apps_raw):
        body = apps_raw[app_id]
        resources = body.get("resources", {}) or {}
        prefix = str(body.get("alarm_prefix") or f"{app_id}-")
        apps.append(
            CatalogApp(
                id=app_id,
                alarm_prefix=prefix,
                namespace=str(body.get("namespace") or ""),
                apis=tuple(_api(app_id, a) for a in resources.get("apis", [])),
                lambdas=tuple(str(fn) for fn in resources.get("lambdas", [])),
            )
        )
    return tuple(apps)


def load_catalog(path: Path) -> tuple[CatalogApp, ...]:
    """Read and parse the catalog file; a missing file is an error, not an empty catalog."""
    if not path.is_file():
        raise CatalogError(f"{path}: catalog not found (pass -c catalog_path=...)")
    return parse_catalog(path.read_text(encoding="utf-8"))


def app_namespaces(apps: tuple[CatalogApp, ...]) -> str:
    """``app=Namespace,...`` for the ingest Lambda's APP_NAMESPACES (EMF namespace per app)."""
    return ",".join(f"{app.id}={app.namespace}" for app in apps if app.namespace)


def all_lambda_names(apps: tuple[CatalogApp, ...]) -> tuple[str, ...]:
    """Every Lambda function named in the catalog, de-duplicated, in catalog order."""
    seen: dict[str, None] = {}
    for app in apps:
        for fn in app.lambdas:
            seen.setdefault(fn, None)
    return tuple(seen)
