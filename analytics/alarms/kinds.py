"""The built-in alarm kinds: which resources each watches, what it measures, its defaults.

A catalog rule names a kind and overrides its defaults key by key (:mod:`analytics.alarms.config`).
A kind watches every resource of its type the app lists, so an app without, say, DynamoDB
tables simply gets no ``dynamodb_throttles`` alarm rather than an error.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analytics.core.catalog import App
from analytics.metrics.queries import MetricQuery, api_query, dynamodb_query, lambda_query


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
                               "notBreaching", "Sum", "DynamoDB throttle events (read + write)"),
    "metric": Kind("", "", "", None, ">=", 300, 1, 1, "missing", "Average", "custom metric"),
}
#: What an app gets when its catalog entry says nothing about alarms.
DEFAULT_KINDS = ("api_5xx_rate", "api_p95_latency", "lambda_error_rate", "dynamodb_throttles")


def resources_of(app: App, kind: Kind) -> list[tuple[str, Any]]:
    """``(name, resource)`` pairs of the app's resources a kind watches (APIs by name)."""
    if kind.resources == "apis":
        return [(a.name, a) for a in app.resources.apis]
    items: tuple[str, ...] = getattr(app.resources, kind.resources)
    return [(r, r) for r in items]


@dataclass(frozen=True)
class Measure:
    """What an alarm kind measures: ``numerator`` (+ ``also``), or 100 x that / ``denominator``."""

    numerator: MetricQuery
    denominator: MetricQuery | None = None
    also: MetricQuery | None = None  # added to the numerator bucket by bucket


def measure(kind_name: str, app: App, res: Any, *, period: int, stat: str) -> Measure:
    """What a kind measures on one resource: one query (or two added up), or the numerator and
    denominator of a rate in percent."""
    a, p = app.id, period
    builders: dict[str, Callable[[], Measure]] = {
        "api_5xx_rate": lambda: Measure(api_query(a, res, "5XXError", stat="Sum", period=p),
                                        api_query(a, res, "Count", stat="Sum", period=p)),
        "api_p95_latency": lambda: Measure(api_query(a, res, "Latency", stat=stat, period=p)),
        "lambda_error_rate": lambda: Measure(
            lambda_query(a, res, "Errors", stat="Sum", period=p),
            lambda_query(a, res, "Invocations", stat="Sum", period=p)),
        "lambda_errors": lambda: Measure(lambda_query(a, res, "Errors", stat="Sum", period=p)),
        "lambda_throttles": lambda: Measure(
            lambda_query(a, res, "Throttles", stat="Sum", period=p)),
        # Every throttled read and write of the table, whatever the operation.
        "dynamodb_throttles": lambda: Measure(
            dynamodb_query(a, res, "ReadThrottleEvents", stat="Sum", period=p),
            also=dynamodb_query(a, res, "WriteThrottleEvents", stat="Sum", period=p)),
    }
    return builders[kind_name]()
