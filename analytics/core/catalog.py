"""The app catalog (``apps.toml``): which applications exist and which AWS resources they own.

The catalog is validated strictly at start-up, because a typo in a resource name would otherwise
show up much later as a silently empty chart. Every error names the file, the app and the field.
The models are frozen (apps are dict keys and cache keys): derive a changed app with
``app.model_copy(update=...)``. Stdlib and pydantic only, because the CDK app imports this module.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from analytics.core.validation import Number, Text, first_problem

APP_ID_RE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
API_KINDS = ("http", "rest")
_RESOURCE_KEYS = ("apis", "lambdas", "dynamodb_tables", "rds_instances", "s3_buckets")
#: App fields that are not keys of an ``[apps.<id>]`` table (the id is the table's name).
_NOT_IN_FILE = ("id", "extra")


class CatalogError(ValueError):
    """The catalog file is missing or malformed; the message says where."""


def _list(what: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a list of {what}, got {value!r}")
        return value
    return BeforeValidator(check)


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(names)) != len(names):
        raise ValueError("contains duplicates")
    return names


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(f"must be > 0, got {value:g}")
    return value


def _arns(arns: tuple[str, ...]) -> tuple[str, ...]:
    for arn in arns:
        if not arn.startswith("arn:"):
            raise ValueError(f"expected IAM ARNs (arn:aws:iam::<account>:role/<name>), got "
                             f"{arn!r}")
    return _unique(arns)


def _cap(value: int) -> int:
    if not 1 <= value <= 100_000:
        raise ValueError(f"must be between 1 and 100000, got {value}")
    return value


Names = Annotated[tuple[Text, ...], _list("names"), AfterValidator(_unique)]
Positive = Annotated[Number, AfterValidator(_positive)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Api(_Frozen):
    """An API Gateway API. HTTP APIs are keyed by ``ApiId``, REST APIs by ``ApiName``+stage."""

    id: Text
    name: Text
    kind: str = "http"
    stage: Text = "$default"

    @model_validator(mode="before")
    @classmethod
    def _stage_of_kind(cls, data: Any) -> Any:
        """A REST API has no ``$default`` stage; ``prod`` is what its console proposes."""
        if isinstance(data, dict) and "stage" not in data and data.get("kind") == "rest":
            return {**data, "stage": "prod"}
        return data

    @property
    def stage_given(self) -> bool:
        """Whether the stage was named (in apps.toml or by discovery) rather than defaulted:
        only then do an HTTP API's metrics carry the ``Stage`` dimension."""
        return "stage" in self.model_fields_set

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in API_KINDS:
            raise ValueError(f"must be one of {API_KINDS}, got {kind!r}")
        return kind


class Resources(_Frozen):
    """Empty lists mean "discover by the ``Application`` tag" on the aws backend."""

    apis: Annotated[tuple[Api, ...], _list("tables")] = ()
    lambdas: Names = ()
    dynamodb_tables: Names = ()
    rds_instances: Names = ()
    s3_buckets: Names = ()

    @property
    def empty(self) -> bool:
        return not (
            self.apis or self.lambdas or self.dynamodb_tables or self.rds_instances
            or self.s3_buckets
        )


class App(_Frozen):
    """One application. ``extra`` keeps its raw ``alarms`` table for :mod:`analytics.alarms`,
    which validates it with its own error type; it takes no part in equality or hashing."""

    id: str
    display_name: Text
    cost_tag: Text
    namespace: Text
    resources: Resources = Field(default_factory=Resources)
    slo_p95_ms: Positive = 200.0
    monthly_budget_usd: Positive | None = None
    mau_metric: Text = "ActiveUsers"
    alarm_prefix: str = ""
    weight: Positive = 1.0
    #: IAM principals (ARNs; a role ARN also covers its sessions; * globs) that may write this
    #: app's custom metrics through the ingest API. Nobody else may (403).
    ingest_principals: Annotated[tuple[Text, ...], _list("ARNs"),
                                 AfterValidator(_arns)] = ()
    #: Cardinality caps over the retention window: distinct metric names of the app, and
    #: distinct dimension sets of each metric. A batch that would pass one is refused (422).
    max_metric_names: Annotated[int, AfterValidator(_cap)] = 200
    max_dimension_sets: Annotated[int, AfterValidator(_cap)] = 100
    extra: dict[str, Any] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_id(cls, data: Any) -> Any:
        """Names default to the id: most apps are tagged and namespaced by it."""
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            app_id = data["id"]
            return {"display_name": app_id, "cost_tag": app_id,
                    "namespace": f"Application/{app_id}", "alarm_prefix": f"{app_id}-", **data}
        return data

    @field_validator("id")
    @classmethod
    def _valid_id(cls, app_id: str) -> str:
        if not APP_ID_RE.match(app_id):
            raise ValueError("must be lowercase letters, digits and dashes")
        return app_id

    def _identity(self) -> tuple[Any, ...]:
        return tuple(v for k, v in self.__dict__.items() if k != "extra")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, App) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())


class Catalog(_Frozen):
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


_UNKNOWN_KEYS = {"resources": f"unknown resource kind; expected one of {_RESOURCE_KEYS}"}


def _err(path: Path, app: str | None, fld: str, msg: str) -> CatalogError:
    where = f"{path}: app {app!r}, field {fld!r}" if app else f"{path}: field {fld!r}"
    return CatalogError(f"{where}: {msg}")


def _app(path: Path, app_id: str, raw: Any) -> App:
    if not isinstance(raw, dict):
        raise _err(path, app_id, "apps", "expected a table")
    reserved = sorted(set(raw) & set(_NOT_IN_FILE))
    if reserved:
        raise _err(path, app_id, reserved[0], "unknown key")
    fields = {k: v for k, v in raw.items() if k != "alarms"}
    try:
        return App.model_validate({**fields, "id": app_id,
                                   "extra": {"alarms": raw["alarms"]} if "alarms" in raw else {}})
    except ValidationError as exc:
        problem = first_problem(exc, unknown_keys=_UNKNOWN_KEYS)
        raise _err(path, app_id, problem.path or "apps", problem.message) from None


def parse_catalog(data: dict[str, Any], path: Path) -> Catalog:
    """Validate a parsed ``apps.toml`` document."""
    apps_raw = data.get("apps")
    if not isinstance(apps_raw, dict) or not apps_raw:
        raise _err(path, None, "apps", "expected at least one [apps.<id>] table")
    return Catalog(apps=tuple(_app(path, app_id, raw) for app_id, raw in apps_raw.items()),
                   path=path)


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
