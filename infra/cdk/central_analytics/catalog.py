"""The slice of ``apps.toml`` the infrastructure needs: APIs, resource names, tags, alarm prefixes.

It reads the catalog through the dashboard's own :mod:`analytics.core.catalog` (stdlib and
pydantic, no dashboard dependencies), so a catalog the dashboard rejects can never be deployed,
and every error names the file, the app and the field the same way. The stack only needs a
small, stable view of it, which the dataclasses below are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from analytics.core.catalog import Catalog, CatalogError, parse_catalog_text
from analytics.core.catalog import load_catalog as _load

__all__ = ["CatalogApi", "CatalogApp", "CatalogError", "load_catalog", "parse_catalog"]


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
    cost_tag: str = ""
    dynamodb_tables: tuple[str, ...] = ()
    rds_instances: tuple[str, ...] = ()
    ingest_principals: tuple[str, ...] = ()
    max_metric_names: int = 200
    max_dimension_sets: int = 100


def _view(catalog: Catalog) -> tuple[CatalogApp, ...]:
    """Apps sorted by id (stable construct ids across synths)."""
    return tuple(
        CatalogApp(
            id=a.id,
            alarm_prefix=a.alarm_prefix or f"{a.id}-",
            namespace=a.namespace,
            apis=tuple(CatalogApi(p.id, p.name, p.kind, p.stage) for p in a.resources.apis),
            lambdas=a.resources.lambdas,
            cost_tag=a.cost_tag,
            dynamodb_tables=a.resources.dynamodb_tables,
            rds_instances=a.resources.rds_instances,
            ingest_principals=a.ingest_principals,
            max_metric_names=a.max_metric_names,
            max_dimension_sets=a.max_dimension_sets,
        )
        for a in sorted(catalog.apps, key=lambda a: a.id)
    )


def parse_catalog(text: str, path: Path = Path("apps.toml")) -> tuple[CatalogApp, ...]:
    """Parse catalog TOML text (validated exactly as the dashboard validates it)."""
    return _view(parse_catalog_text(text, path))


def load_catalog(path: Path) -> tuple[CatalogApp, ...]:
    """Read and parse the catalog file; a missing file is an error, not an empty catalog."""
    return _view(_load(path))


def app_namespaces(apps: tuple[CatalogApp, ...]) -> str:
    """``app=Namespace,...`` for the ingest Lambda's APP_NAMESPACES (EMF namespace per app)."""
    return ",".join(f"{app.id}={app.namespace}" for app in apps if app.namespace)


def ingest_principals(apps: tuple[CatalogApp, ...]) -> str:
    """JSON ``{app: [ARN, ...]}`` for the ingest Lambda's INGEST_PRINCIPALS (who writes what)."""
    return json.dumps({app.id: list(app.ingest_principals) for app in apps}, sort_keys=True)


def ingest_caps(apps: tuple[CatalogApp, ...]) -> str:
    """JSON ``{app: [max names, max dimension sets]}`` for the Lambda's INGEST_CAPS."""
    return json.dumps({app.id: [app.max_metric_names, app.max_dimension_sets] for app in apps},
                      sort_keys=True)


def all_lambda_names(apps: tuple[CatalogApp, ...]) -> tuple[str, ...]:
    """Every Lambda function named in the catalog, de-duplicated, in catalog order."""
    seen: dict[str, None] = {}
    for app in apps:
        for fn in app.lambdas:
            seen.setdefault(fn, None)
    return tuple(seen)


def all_of(apps: tuple[CatalogApp, ...], field: str) -> tuple[str, ...]:
    """Every name in one resource list (``"dynamodb_tables"``…) of every app, de-duplicated."""
    seen: dict[str, None] = {}
    for app in apps:
        for name in getattr(app, field):
            seen.setdefault(name, None)
    return tuple(seen)
