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

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from analytics.alarms.kinds import DEFAULT_KINDS, KINDS, measure, resources_of
from analytics.alarms.rules import (
    MAX_EVALUATION_SECONDS,
    TREATMENTS,
    Evaluation,
    canonical_operator,
)
from analytics.core.catalog import App
from analytics.core.validation import Number, StrMap, Text, WholeNumber, first_problem
from analytics.metrics.queries import MetricQuery, validate_stat


class AlarmConfigError(ValueError):
    """An ``alarms`` entry of the catalog is malformed; the message says where."""


_TOP_KEYS = ("defaults", "rules", "tags")
_UNKNOWN_KEYS = {"": f"unknown key; expected one of {list(_TOP_KEYS)}"}
_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class AlarmRule:
    """One local alarm: what is measured (one query, two added up, or 100 x numerator /
    denominator)."""

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
    also: MetricQuery | None = None  # added to the numerator (read + write throttles)

    @property
    def queries(self) -> list[MetricQuery]:
        return ([self.numerator] + ([self.also] if self.also else [])
                + ([self.denominator] if self.denominator else []))

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
        if self.also is not None:
            num = num.add(pick(self.also), fill_value=0.0).rename("value")
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


class _Rule(BaseModel):
    """One ``[[apps.<id>.alarms.rules]]`` entry; every key it omits comes from its kind.

    Validated with ``context={"app": App}``: the default threshold and the resources a rule
    may name are the app's. A validator sees only the fields declared above it, so the order
    of the fields is the order of the checks. After validation every field holds the value the
    alarm uses (``comparison`` as CloudWatch's operator name).
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    kind: str
    name: Text | None = None
    namespace: Text | None = None
    metric_name: Text | None = None
    dimensions: StrMap | None = None
    statistic: str
    threshold: Number
    comparison: str
    treat_missing_data: str
    period: WholeNumber
    evaluation_periods: WholeNumber
    datapoints_to_alarm: WholeNumber
    resources: tuple[str, ...] | None = None
    suffix: str
    unit: str
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        """Fill what the entry omits from its kind; None marks "not given" where that matters."""
        kind_name = data.get("kind") if isinstance(data, dict) else None
        if not isinstance(kind_name, str) or kind_name not in KINDS:
            return data
        kind = KINDS[kind_name]
        threshold = _app(info).slo_p95_ms if kind.threshold is None and kind.resources \
            else kind.threshold
        return {
            "statistic": None, "threshold": threshold, "comparison": kind.comparison,
            "treat_missing_data": kind.treat_missing_data, "period": kind.period,
            "evaluation_periods": kind.evaluation_periods,
            # AWS: DatapointsToAlarm defaults to EvaluationPeriods when only the latter is given.
            "datapoints_to_alarm": data.get("evaluation_periods", kind.datapoints_to_alarm),
            "suffix": kind.suffix, "unit": kind.unit, **data,
        }

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"must be one of {sorted(KINDS)}, got {kind!r}")
        return kind

    @field_validator("name", "namespace", "metric_name", "dimensions")
    @classmethod
    def _metric_only(cls, value: object, info: ValidationInfo) -> object:
        kind = info.data.get("kind")
        if kind == "metric" and value is None and info.field_name != "dimensions":
            raise ValueError("required for kind 'metric'")
        if kind not in (None, "metric") and value is not None:
            raise ValueError("only for kind 'metric'")
        return value

    @field_validator("statistic", mode="before")
    @classmethod
    def _statistic(cls, value: Any, info: ValidationInfo) -> Any:
        kind_name = info.data.get("kind")
        if kind_name is None:
            return value
        if value is None:
            return KINDS[kind_name].statistic
        if kind_name not in ("metric", "api_p95_latency"):
            raise ValueError(f"fixed to {KINDS[kind_name].statistic} for kind {kind_name!r}")
        return validate_stat(value) if isinstance(value, str) else value

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> Any:
        if value is None:  # kind "metric" has no default to compare with
            raise ValueError("required for kind 'metric'")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"threshold must be a finite number, got {value!r}")
        return value

    @field_validator("comparison")
    @classmethod
    def _operator(cls, value: str) -> str:
        return canonical_operator(value)

    @field_validator("treat_missing_data")
    @classmethod
    def _treatment(cls, value: str) -> str:
        if value not in TREATMENTS:
            raise ValueError(f"must be one of {TREATMENTS}, got {value!r}")
        return value

    @field_validator("period")
    @classmethod
    def _minutes(cls, value: int) -> int:
        if value <= 0 or value % 60:
            raise ValueError(f"local alarms need a multiple of 60 seconds, got {value}")
        return value

    @field_validator("evaluation_periods")
    @classmethod
    def _at_most_a_day(cls, n: int, info: ValidationInfo) -> int:
        if n < 1:
            raise ValueError(f"evaluation_periods must be >= 1, got {n}")
        period = info.data.get("period")
        if period is not None and n * period > MAX_EVALUATION_SECONDS:
            raise ValueError(f"evaluation_periods x period must not exceed one day, got "
                             f"{n} x {period} s")
        return n

    @field_validator("datapoints_to_alarm")
    @classmethod
    def _m_of_n(cls, m: int, info: ValidationInfo) -> int:
        n = info.data.get("evaluation_periods")
        if n is not None and not 1 <= m <= n:
            raise ValueError(f"datapoints_to_alarm must be between 1 and evaluation_periods "
                             f"({n}), got {m}")
        return m

    @field_validator("resources", mode="before")
    @classmethod
    def _the_apps_own(cls, wanted: Any, info: ValidationInfo) -> Any:
        if wanted is None:
            return wanted
        if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
            raise ValueError(f"expected a list of names, got {wanted!r}")
        kind_name = info.data.get("kind")
        if kind_name in (None, "metric"):
            return wanted
        kind = KINDS[kind_name]
        names = [n for n, _ in resources_of(_app(info), kind)]
        for w in wanted:
            if w not in names:
                raise ValueError(f"{w!r} is not one of the app's {kind.resources}: {names}")
        return wanted

    @field_validator("suffix")
    @classmethod
    def _suffix(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") != "metric" and not value:
            raise ValueError(f"expected a non-empty string, got {value!r}")
        return value

    def evaluation(self) -> Evaluation:
        return Evaluation(threshold=self.threshold, operator=self.comparison, period=self.period,
                          evaluation_periods=self.evaluation_periods,
                          datapoints_to_alarm=self.datapoints_to_alarm,
                          treat_missing_data=self.treat_missing_data)


class _Alarms(BaseModel):
    """The ``[apps.<id>.alarms]`` table."""

    model_config = ConfigDict(extra="forbid")

    defaults: StrictBool = True
    tags: StrMap = Field(default_factory=dict)
    rules: list[_Rule] = Field(default_factory=list)


def _app(info: ValidationInfo) -> App:
    app = (info.context or {}).get("app")
    assert isinstance(app, App), "validate alarm rules with context={'app': app}"
    return app


def _alarms_of(rule: _Rule, app: App) -> list[AlarmRule]:
    """The local alarms of one rule: one for a custom metric, else one per resource."""
    ev = rule.evaluation()
    stat = rule.statistic
    if rule.kind == "metric":
        name = _prefixed(app.alarm_prefix, str(rule.name), "")
        q = MetricQuery(str(rule.namespace), str(rule.metric_name),
                        tuple(sorted((rule.dimensions or {}).items())), stat, ev.period, app.id,
                        name, str(rule.metric_name))
        return [AlarmRule(app.id, name, rule.kind, name, ev, q, None, rule.unit,
                          rule.description, f"{q.namespace} {q.metric_name} {stat}")]
    kind = KINDS[rule.kind]
    label = kind.label if rule.kind != "api_p95_latency" else f"{kind.label} {stat}"
    out = []
    for res_name, res in resources_of(app, kind):
        if rule.resources is not None and res_name not in rule.resources:
            continue
        m = measure(rule.kind, app, res, period=ev.period, stat=stat)
        out.append(AlarmRule(app.id, _prefixed(app.alarm_prefix, res_name, rule.suffix),
                             rule.kind, res_name, ev, m.numerator, m.denominator, rule.unit,
                             rule.description, f"{label} of {res_name}", m.also))
    return out


def _err(app: App, path: Path | str, fld: str, msg: str) -> AlarmConfigError:
    where = f"alarms.{fld}" if fld else "alarms"
    return AlarmConfigError(f"{path}: app {app.id!r}, field {where!r}: {msg}")


def _validate(model: type[_M], raw: Any, app: App, path: Path | str, *, at: str = "") -> _M:
    """``model`` from ``raw``, or :class:`AlarmConfigError` naming ``alarms.<at>.<field>``."""
    try:
        return model.model_validate(raw, context={"app": app})
    except ValidationError as exc:
        problem = first_problem(exc, unknown_keys=_UNKNOWN_KEYS)
        fld = ".".join(p for p in (at, problem.path) if p)
        raise _err(app, path, fld, problem.message) from None


def parse_alarms(app: App, path: Path | str = "apps.toml") -> AlarmConfig:
    """The app's alarm selection and local rules; :class:`AlarmConfigError` if malformed."""
    raw: Any = app.extra.get("alarms", {})
    if isinstance(raw, list):
        raw = {"rules": raw}
    if not isinstance(raw, dict):
        raise _err(app, path, "", f"expected a table or an array of tables, got {raw!r}")
    table = _validate(_Alarms, raw, app, path)
    given = {r.kind for r in table.rules}
    defaults = [_validate(_Rule, {"kind": k}, app, path, at=f"defaults.{k}")
                for k in DEFAULT_KINDS if table.defaults and k not in given]
    rules = [alarm for rule in (*defaults, *table.rules) for alarm in _alarms_of(rule, app)]
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise _err(app, path, "rules", f"two alarms are named {r.name!r}; give one a 'suffix'")
        seen.add(r.name)
    if not table.tags and not app.alarm_prefix:
        raise _err(app, path, "tags", "the app has an empty alarm_prefix: give alarm tags to "
                   "select its CloudWatch alarms")
    return AlarmConfig(app.id, app.alarm_prefix, table.tags, tuple(rules))
