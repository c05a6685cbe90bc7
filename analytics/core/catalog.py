"""The app catalog (``apps.toml``): which applications exist and which AWS resources they own.

The catalog is validated strictly at start-up, because a typo in a resource name would otherwise
show up much later as a silently empty chart. Every error names the file, the app and the field.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP_ID_RE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
API_KINDS = ("http", "rest")


class CatalogError(ValueError):
    """The catalog file is missing or malformed; the message says where."""


@dataclass(frozen=True)
class Api:
    """An API Gateway API. HTTP APIs are keyed by ``ApiId``, REST APIs by ``ApiName``."""

    id: str
    name: str
    kind: str = "http"
    stage: str = "$default"


@dataclass(frozen=True)
class Resources:
    apis: tuple[Api, ...] = ()
    lambdas: tuple[str, ...] = ()
    dynamodb_tables: tuple[str, ...] = ()
    rds_instances: tuple[str, ...] = ()
    s3_buckets: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.apis or self.lambdas or self.dynamodb_tables or self.rds_instances
            or self.s3_buckets
        )


@dataclass(frozen=True)
class App:
    id: str
    display_name: str
    cost_tag: str
    namespace: str
    resources: Resources
    slo_p95_ms: float = 200.0
    monthly_budget_usd: float | None = None
    mau_metric: str = "ActiveUsers"
    alarm_prefix: str = ""
    weight: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Catalog:
    apps: tuple[App, ...]
    path: Path

    def ids(self) -> list[str]:
        return [a.id for a in self.apps]

    def get(self, app_id: str) -> App:
        for app in self.apps:
            if app.id == app_id:
                return app
        raise KeyError(f"unknown application {app_id!r}; the catalog has {self.ids()}")

    def subset(self, app_ids: list[str] | tuple[str, ...] | set[str] | None) -> list[App]:
        """The catalog's apps restricted to ``app_ids`` (None = all), in catalog order."""
        if app_ids is None:
            return list(self.apps)
        allowed = set(app_ids)
        return [a for a in self.apps if a.id in allowed]


_KNOWN_APP_KEYS = {
    "display_name", "cost_tag", "namespace", "slo_p95_ms", "monthly_budget_usd", "mau_metric",
    "alarm_prefix", "weight", "resources", "alarms",
}
_RESOURCE_KEYS = ("apis", "lambdas", "dynamodb_tables", "rds_instances", "s3_buckets")


def _err(path: Path, app: str | None, fld: str, msg: str) -> CatalogError:
    where = f"{path}: app {app!r}, field {fld!r}" if app else f"{path}: field {fld!r}"
    return CatalogError(f"{where}: {msg}")


def _str(path: Path, app: str, fld: str, value: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _err(path, app, fld, f"expected a non-empty string, got {value!r}")
    return value


def _num(path: Path, app: str, fld: str, value: Any, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(path, app, fld, f"expected a number, got {value!r}")
    if positive and value <= 0:
        raise _err(path, app, fld, f"must be > 0, got {value!r}")
    return float(value)


def _str_list(path: Path, app: str, fld: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _err(path, app, fld, f"expected a list of names, got {value!r}")
    out = tuple(_str(path, app, f"{fld}[{i}]", v) for i, v in enumerate(value))
    if len(set(out)) != len(out):
        raise _err(path, app, fld, "contains duplicates")
    return out


def _apis(path: Path, app: str, value: Any) -> tuple[Api, ...]:
    if not isinstance(value, list):
        raise _err(path, app, "resources.apis", f"expected a list of tables, got {value!r}")
    apis = []
    for i, raw in enumerate(value):
        fld = f"resources.apis[{i}]"
        if not isinstance(raw, dict):
            raise _err(path, app, fld, f"expected {{id, name, kind}}, got {raw!r}")
        unknown = set(raw) - {"id", "name", "kind", "stage"}
        if unknown:
            raise _err(path, app, f"{fld}.{sorted(unknown)[0]}", "unknown key")
        kind = raw.get("kind", "http")
        if kind not in API_KINDS:
            raise _err(path, app, f"{fld}.kind", f"must be one of {API_KINDS}, got {kind!r}")
        apis.append(
            Api(
                id=_str(path, app, f"{fld}.id", raw.get("id")),
                name=_str(path, app, f"{fld}.name", raw.get("name")),
                kind=kind,
                stage=_str(path, app, f"{fld}.stage",
                           raw.get("stage", "$default" if kind == "http" else "prod")),
            )
        )
    return tuple(apis)


def _resources(path: Path, app: str, raw: Any) -> Resources:
    if raw is None:
        return Resources()
    if not isinstance(raw, dict):
        raise _err(path, app, "resources", f"expected a table, got {raw!r}")
    unknown = set(raw) - set(_RESOURCE_KEYS)
    if unknown:
        raise _err(path, app, f"resources.{sorted(unknown)[0]}",
                   f"unknown resource kind; expected one of {_RESOURCE_KEYS}")
    return Resources(
        apis=_apis(path, app, raw.get("apis", [])),
        lambdas=_str_list(path, app, "resources.lambdas", raw.get("lambdas", [])),
        dynamodb_tables=_str_list(path, app, "resources.dynamodb_tables",
                                  raw.get("dynamodb_tables", [])),
        rds_instances=_str_list(path, app, "resources.rds_instances",
                                raw.get("rds_instances", [])),
        s3_buckets=_str_list(path, app, "resources.s3_buckets", raw.get("s3_buckets", [])),
    )


def parse_catalog(data: dict[str, Any], path: Path) -> Catalog:
    """Validate a parsed ``apps.toml`` document."""
    apps_raw = data.get("apps")
    if not isinstance(apps_raw, dict) or not apps_raw:
        raise _err(path, None, "apps", "expected at least one [apps.<id>] table")
    apps = []
    for app_id, raw in apps_raw.items():
        if not APP_ID_RE.match(app_id):
            raise _err(path, app_id, "id", "must be lowercase letters, digits and dashes")
        if not isinstance(raw, dict):
            raise _err(path, app_id, "apps", "expected a table")
        unknown = set(raw) - _KNOWN_APP_KEYS
        if unknown:
            raise _err(path, app_id, sorted(unknown)[0], "unknown key")
        budget = raw.get("monthly_budget_usd")
        apps.append(
            App(
                id=app_id,
                display_name=_str(path, app_id, "display_name", raw.get("display_name", app_id)),
                cost_tag=_str(path, app_id, "cost_tag", raw.get("cost_tag", app_id)),
                namespace=_str(path, app_id, "namespace",
                               raw.get("namespace", f"Application/{app_id}")),
                resources=_resources(path, app_id, raw.get("resources")),
                slo_p95_ms=_num(path, app_id, "slo_p95_ms", raw.get("slo_p95_ms", 200)),
                monthly_budget_usd=None if budget is None
                else _num(path, app_id, "monthly_budget_usd", budget),
                mau_metric=_str(path, app_id, "mau_metric", raw.get("mau_metric", "ActiveUsers")),
                alarm_prefix=_str(path, app_id, "alarm_prefix",
                                  raw.get("alarm_prefix", f"{app_id}-"), allow_empty=True),
                weight=_num(path, app_id, "weight", raw.get("weight", 1.0)),
                extra={"alarms": raw.get("alarms")} if "alarms" in raw else {},
            )
        )
    return Catalog(apps=tuple(apps), path=path)


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate the catalog; raise :class:`CatalogError` naming file, app and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{p}: cannot read the app catalog ({exc.strerror})") from exc
    return parse_catalog_text(text, p)


def parse_catalog_text(text: str, path: Path) -> Catalog:
    """Parse and validate catalog TOML text read from ``path`` (named in every error)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from exc
    return parse_catalog(data, path)
