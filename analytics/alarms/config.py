"""Per-app alarm definitions from ``apps.toml`` (``[apps.<id>.alarms]``), validated strictly.

Two uses. On the aws backend only the *selection* matters: which CloudWatch alarms belong to
the app — by the catalog's ``alarm_prefix`` (DescribeAlarms AlarmNamePrefix, the default) or by
``tags``. On the local backend the *rules* define the alarms the local store is evaluated
against with CloudWatch's rules (:mod:`analytics.alarms.rules`).

Shape (every key optional)::

    [apps.jobseek.alarms]
    defaults = true                        # the default set below (default: true)
    tags = { Application = "jobseek" }    # aws: select alarms by tags instead of the prefix

    [[apps.jobseek.alarms.rules]]
    kind = "api_p95_latency"               # replaces the default rule of the same kind
    threshold = 300

A bare array ``[[apps.<id>.alarms]]`` is read as ``rules``. Errors name the file, the app and
the field, like the catalog's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.alarms.rules import TREATMENTS, Evaluation, canonical_operator
from analytics.core.catalog import App
from analytics.metrics.queries import (
    MetricQuery,
    api_query,
    dynamodb_query,
    lambda_query,
    validate_stat,
)


class AlarmConfigError(ValueError):
    """An ``alarms`` entry of the catalog is malformed; the message says where."""


@dataclass(frozen=True)
class Kind:
    """A built-in alarm kind: which resources it watches and its default evaluation."""

    resources: str  # Resources attribute: "apis" | "lambdas" | "dynamodb_tables" | ""
    suffix: str
    unit: str
    threshold: float | None  # None: app.slo_p95_ms
    comparison: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    statistic: str
    label: str


KINDS: dict[str, Kind] = {
    "api_5xx_rate": Kind("apis", "-5xx-rate", "%", 5.0, ">=", 300, 2, 2, "notBreaching", "Sum",
                         "API 5xx rate (100 x 5xx / Count)"),
    "api_p95_latency": Kind("apis", "-p95-latency", "ms", None, ">", 300, 3, 3, "missing", "p95",
                            "API latency"),
    "lambda_error_rate": Kind("lambdas", "-error-rate", "%", 5.0, ">=", 300, 3, 2,
                              "notBreaching", "Sum", "Lambda error rate (100 x Errors / "
                              "Invocations)"),
    "lambda_errors": Kind("lambdas", "-errors", "", 5.0, ">=", 300, 1, 1, "notBreaching", "Sum",
                          "Lambda errors"),
    "lambda_throttles": Kind("lambdas", "-throttles", "", 10.0, ">=", 300, 1, 1, "notBreaching",
                             "Sum", "Lambda throttles"),
    "dynamodb_throttles": Kind("dynamodb_tables", "-throttles", "", 10.0, ">=", 300, 1, 1,
                               "notBreaching", "Sum", "DynamoDB throttled requests"),
    "metric": Kind("", "", "", None, ">=", 300, 1, 1, "missing", "Average", "custom metric"),
}
#: What an app gets when its catalog entry says nothing about alarms.
DEFAULT_KINDS = ("api_5xx_rate", "api_p95_latency", "lambda_error_rate", "dynamodb_throttles")
_TOP_KEYS = {"defaults", "tags", "rules"}
_RULE_KEYS = {"kind", "resources", "suffix", "threshold", "comparison", "period",
              "evaluation_periods", "datapoints_to_alarm", "treat_missing_data", "statistic",
              "description", "name", "namespace", "metric_name", "dimensions", "unit"}
_METRIC_ONLY = {"name", "namespace", "metric_name", "dimensions"}


@dataclass(frozen=True)
class AlarmRule:
    """One local alarm: what is measured (one query, or 100 x numerator / denominator)."""

    app: str
    name: str
    kind: str
    resource: str
    evaluation: Evaluation
    numerator: MetricQuery
    denominator: MetricQuery | None = None
    unit: str = ""
    description: str = ""
    label: str = ""

    @property
    def queries(self) -> list[MetricQuery]:
        return [self.numerator] + ([self.denominator] if self.denominator else [])

    @property
    def namespace(self) -> str:
        return self.numerator.namespace

    def values(self, frame: pd.DataFrame) -> pd.Series:
        """The alarm's datapoints (timestamp -> value) from a tidy frame holding its queries."""
        def pick(q: MetricQuery) -> pd.Series:
            f = frame[(frame["app"] == q.app) & (frame["resource"] == q.resource)
                      & (frame["metric"] == q.metric) & (frame["stat"] == q.stat)]
            return f.set_index("timestamp")["value"].sort_index()

        num = pick(self.numerator)
        if self.denominator is None:
            return num
        den = pick(self.denominator)
        den = den[den > 0]  # no requests: no datapoint (CloudWatch math yields none either)
        return (num.reindex(den.index, fill_value=0.0) / den * 100.0).rename("value")


@dataclass(frozen=True)
class AlarmConfig:
    app: str
    prefix: str
    tags: dict[str, str] = field(default_factory=dict)
    rules: tuple[AlarmRule, ...] = ()

    def rule(self, name: str) -> AlarmRule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"app {self.app!r} has no local alarm {name!r}")


def _prefixed(prefix: str, name: str, suffix: str) -> str:
    """``prefix + name + suffix`` without doubling a prefix the resource already has (as infra)."""
    base = name if name.startswith(prefix) else f"{prefix}{name}"
    return f"{base}{suffix}"


class _Ctx:
    def __init__(self, path: Path | str, app: App) -> None:
        self.path, self.app = path, app

    def err(self, fld: str, msg: str) -> AlarmConfigError:
        return AlarmConfigError(f"{self.path}: app {self.app.id!r}, field 'alarms.{fld}': {msg}")

    def num(self, raw: Mapping[str, Any], key: str, fld: str, default: float) -> float:
        v = raw.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.err(f"{fld}.{key}", f"expected a number, got {v!r}")
        return float(v)

    def int_(self, raw: Mapping[str, Any], key: str, fld: str, default: int) -> int:
        v = raw.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(f"{fld}.{key}", f"expected a whole number, got {v!r}")
        return v

    def text(self, raw: Mapping[str, Any], key: str, fld: str, default: str | None) -> str:
        v = raw.get(key, default)
        if not isinstance(v, str) or not v.strip():
            raise self.err(f"{fld}.{key}", f"expected a non-empty string, got {v!r}")
        return v

    def str_map(self, v: Any, fld: str) -> dict[str, str]:
        if not isinstance(v, dict) or not all(isinstance(x, str) and x for x in v.values()):
            raise self.err(fld, f"expected a table of name = \"value\" strings, got {v!r}")
        return dict(v)


def _resources_of(app: App, kind: Kind) -> list[tuple[str, Any]]:
    if kind.resources == "apis":
        return [(a.name, a) for a in app.resources.apis]
    items: tuple[str, ...] = getattr(app.resources, kind.resources)
    return [(r, r) for r in items]


def _measure(kind_name: str, app: App, res: Any, period: int, stat: str
             ) -> tuple[MetricQuery, MetricQuery | None]:
    a = app.id
    builders: dict[str, Callable[[], tuple[MetricQuery, MetricQuery | None]]] = {
        "api_5xx_rate": lambda: (
            api_query(a, res, "5XXError", stat="Sum", period=period),
            api_query(a, res, "Count", stat="Sum", period=period),
        ),
        "api_p95_latency": lambda: (api_query(a, res, "Latency", stat=stat, period=period), None),
        "lambda_error_rate": lambda: (
            lambda_query(a, res, "Errors", stat="Sum", period=period),
            lambda_query(a, res, "Invocations", stat="Sum", period=period),
        ),
        "lambda_errors": lambda: (lambda_query(a, res, "Errors", stat="Sum", period=period), None),
        "lambda_throttles": lambda: (
            lambda_query(a, res, "Throttles", stat="Sum", period=period),
            None,
        ),
        "dynamodb_throttles": lambda: (
            dynamodb_query(a, res, "ThrottledRequests", stat="Sum", period=period),
            None,
        ),
    }
    return builders[kind_name]()


def _evaluation(ctx: _Ctx, raw: Mapping[str, Any], fld: str, kind: Kind) -> Evaluation:
    default_thr = ctx.app.slo_p95_ms if kind.threshold is None else kind.threshold
    if kind.threshold is None and "threshold" not in raw and kind.resources == "":
        raise ctx.err(f"{fld}.threshold", "required for kind 'metric'")
    treat = raw.get("treat_missing_data", kind.treat_missing_data)
    if treat not in TREATMENTS:
        raise ctx.err(f"{fld}.treat_missing_data", f"must be one of {TREATMENTS}, got {treat!r}")
    comparison = raw.get("comparison", kind.comparison)
    try:
        op = canonical_operator(str(comparison))
    except ValueError as exc:
        raise ctx.err(f"{fld}.comparison", str(exc)) from None
    n = ctx.int_(raw, "evaluation_periods", fld, kind.evaluation_periods)
    # AWS: DatapointsToAlarm defaults to EvaluationPeriods when only the latter is given.
    default_m = n if "evaluation_periods" in raw else kind.datapoints_to_alarm
    try:
        return Evaluation(
            threshold=ctx.num(raw, "threshold", fld, default_thr), operator=op,
            period=ctx.int_(raw, "period", fld, kind.period), evaluation_periods=n,
            datapoints_to_alarm=ctx.int_(raw, "datapoints_to_alarm", fld, default_m),
            treat_missing_data=treat)
    except ValueError as exc:
        key = str(exc).split()[0]  # the messages start with the offending field's name
        raise ctx.err(f"{fld}.{key}" if key in _RULE_KEYS else fld, str(exc)) from None


def _rules_of(ctx: _Ctx, raw: Mapping[str, Any], fld: str) -> list[AlarmRule]:
    if not isinstance(raw, dict):
        raise ctx.err(fld, f"expected a table, got {raw!r}")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ctx.err(f"{fld}.{sorted(unknown)[0]}", "unknown key")
    kind_name = raw.get("kind")
    if kind_name not in KINDS:
        raise ctx.err(f"{fld}.kind", f"must be one of {sorted(KINDS)}, got {kind_name!r}")
    kind = KINDS[kind_name]
    if kind_name != "metric" and _METRIC_ONLY & set(raw):
        raise ctx.err(f"{fld}.{sorted(_METRIC_ONLY & set(raw))[0]}", "only for kind 'metric'")
    ev = _evaluation(ctx, raw, fld, kind)
    stat = raw.get("statistic", kind.statistic)
    if kind_name not in ("metric", "api_p95_latency") and "statistic" in raw:
        raise ctx.err(f"{fld}.statistic", f"fixed to {kind.statistic} for kind {kind_name!r}")
    try:
        validate_stat(str(stat))
    except ValueError as exc:
        raise ctx.err(f"{fld}.statistic", str(exc)) from None
    if ev.period % 60:
        raise ctx.err(f"{fld}.period", "local alarms need a multiple of 60 seconds")
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise ctx.err(f"{fld}.description", f"expected a string, got {desc!r}")
    unit = raw.get("unit", kind.unit)
    if kind_name == "metric":
        name = _prefixed(ctx.app.alarm_prefix, ctx.text(raw, "name", fld, None), "")
        dims = ctx.str_map(raw.get("dimensions", {}), f"{fld}.dimensions")
        q = MetricQuery(ctx.text(raw, "namespace", fld, None),
                        ctx.text(raw, "metric_name", fld, None), tuple(sorted(dims.items())),
                        str(stat), ev.period, ctx.app.id, name,
                        ctx.text(raw, "metric_name", fld, None))
        return [AlarmRule(ctx.app.id, name, kind_name, name, ev, q, None, str(unit), desc,
                          f"{q.namespace} {q.metric_name} {stat}")]
    available = _resources_of(ctx.app, kind)
    wanted = raw.get("resources")
    if wanted is not None:
        names = [n for n, _ in available]
        if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
            raise ctx.err(f"{fld}.resources", f"expected a list of names, got {wanted!r}")
        for w in wanted:
            if w not in names:
                raise ctx.err(f"{fld}.resources", f"{w!r} is not one of the app's "
                              f"{kind.resources}: {names}")
        available = [(n, r) for n, r in available if n in wanted]
    suffix = raw.get("suffix", kind.suffix)
    if not isinstance(suffix, str) or not suffix:
        raise ctx.err(f"{fld}.suffix", f"expected a non-empty string, got {suffix!r}")
    out = []
    for res_name, res in available:
        num, den = _measure(kind_name, ctx.app, res, ev.period, str(stat))
        label = kind.label if kind_name != "api_p95_latency" else f"{kind.label} {stat}"
        out.append(AlarmRule(ctx.app.id, _prefixed(ctx.app.alarm_prefix, res_name, suffix),
                             kind_name, res_name, ev, num, den, str(unit), desc,
                             f"{label} of {res_name}"))
    return out


def parse_alarms(app: App, path: Path | str = "apps.toml") -> AlarmConfig:
    """The app's alarm selection and local rules; :class:`AlarmConfigError` if malformed."""
    ctx = _Ctx(path, app)
    raw: Any = app.extra.get("alarms", {})
    if isinstance(raw, list):
        raw = {"rules": raw}
    if not isinstance(raw, dict):
        raise AlarmConfigError(f"{path}: app {app.id!r}, field 'alarms': expected a table "
                               f"or an array of tables, got {raw!r}")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ctx.err(sorted(unknown)[0], "unknown key; expected one of "
                      f"{sorted(_TOP_KEYS)}")
    defaults = raw.get("defaults", True)
    if not isinstance(defaults, bool):
        raise ctx.err("defaults", f"expected true or false, got {defaults!r}")
    tags = ctx.str_map(raw["tags"], "tags") if "tags" in raw else {}
    entries = raw.get("rules", [])
    if not isinstance(entries, list):
        raise ctx.err("rules", f"expected an array of tables, got {entries!r}")
    given = {e.get("kind") for e in entries if isinstance(e, dict)}
    rules: list[AlarmRule] = []
    if defaults:
        for k in DEFAULT_KINDS:
            if k not in given:
                rules += _rules_of(ctx, {"kind": k}, f"defaults.{k}")
    for i, entry in enumerate(entries):
        rules += _rules_of(ctx, entry, f"rules[{i}]")
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise ctx.err("rules", f"two alarms are named {r.name!r}; give one a 'suffix'")
        seen.add(r.name)
    if not tags and not app.alarm_prefix:
        raise ctx.err("tags", "the app has an empty alarm_prefix: give alarm tags to select "
                      "its CloudWatch alarms")
    return AlarmConfig(app.id, app.alarm_prefix, tags, tuple(rules))
