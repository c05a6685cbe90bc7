"""Typed answers: frozen dataclasses built from the API's JSON (times as aware datetimes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


def _ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _req_ts(text: str) -> datetime:
    moment = _ts(text)
    assert moment is not None
    return moment


def _dims(raw: list[dict[str, str]] | None) -> dict[str, str]:
    return {d["name"]: d["value"] for d in raw or []}


@dataclass(frozen=True)
class DataPoint:
    timestamp: datetime
    value: float

    @classmethod
    def of(cls, raw: dict[str, Any]) -> DataPoint:
        return cls(_req_ts(raw["timestamp"]), float(raw["value"]))


@dataclass(frozen=True)
class MetricSeries:
    resource: str
    statistic: str
    dimensions: dict[str, str]
    points: list[DataPoint]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> MetricSeries:
        return cls(raw["resource"], raw["statistic"], _dims(raw.get("dimensions")),
                   [DataPoint.of(p) for p in raw["points"]])


@dataclass(frozen=True)
class MetricsResponse:
    application_id: str
    metric_type: str
    metric_name: str
    unit: str | None
    start: datetime
    end: datetime
    period_seconds: int
    granularity: str
    series: list[MetricSeries]
    fetched_at: datetime
    stale: bool
    stale_reason: str | None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> MetricsResponse:
        return cls(raw["applicationId"], raw["metricType"], raw["metricName"], raw.get("unit"),
                   _req_ts(raw["startTime"]), _req_ts(raw["endTime"]), int(raw["periodSeconds"]),
                   raw["granularity"], [MetricSeries.of(s) for s in raw["series"]],
                   _req_ts(raw["fetchedAt"]), bool(raw["stale"]), raw.get("staleReason"))

    def one(self, resource: str | None = None, statistic: str | None = None) -> MetricSeries:
        """The only series matching ``resource``/``statistic`` (ValueError otherwise)."""
        found = [s for s in self.series if resource in (None, s.resource)
                 and statistic in (None, s.statistic)]
        if len(found) != 1:
            raise ValueError(f"{len(found)} series match {resource!r}/{statistic!r}")
        return found[0]


@dataclass(frozen=True)
class Line:
    name: str
    points: list[DataPoint]


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    unit: str
    lines: list[Line]
    hidden_series: int

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Panel:
        return cls(raw["key"], raw["title"], raw["unit"],
                   [Line(x["name"], [DataPoint.of(p) for p in x["points"]]) for x in raw["lines"]],
                   int(raw["hiddenSeries"]))


@dataclass(frozen=True)
class RealtimeMetrics:
    application_id: str
    window_start: datetime
    window_end: datetime
    service: list[Panel]
    custom: list[Panel]
    hidden_metrics: list[str]
    last_datapoint_at: datetime | None
    ingest_lag_p50_ms: float | None
    ingest_lag_p95_ms: float | None
    fetched_at: datetime
    stale: bool
    stale_reason: str | None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> RealtimeMetrics:
        return cls(raw["applicationId"], _req_ts(raw["windowStart"]), _req_ts(raw["windowEnd"]),
                   [Panel.of(p) for p in raw["service"]], [Panel.of(p) for p in raw["custom"]],
                   list(raw["hiddenMetrics"]), _ts(raw.get("lastDatapointAt")),
                   raw.get("ingestLagP50Ms"), raw.get("ingestLagP95Ms"),
                   _req_ts(raw["fetchedAt"]), bool(raw["stale"]), raw.get("staleReason"))


@dataclass(frozen=True)
class CostForecast:
    start: date
    end: date
    mean: float
    lower: float
    upper: float
    level: int
    model: str

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> CostForecast | None:
        if raw is None:
            return None
        return cls(date.fromisoformat(raw["start"]), date.fromisoformat(raw["end"]),
                   float(raw["mean"]), float(raw["lower"]), float(raw["upper"]),
                   int(raw["level"]), raw["model"])


@dataclass(frozen=True)
class ApplicationCost:
    application_id: str
    display_name: str
    amount: float
    by_service: dict[str, float]
    monthly_budget: float | None
    forecast: CostForecast | None


@dataclass(frozen=True)
class CostBreakdown:
    start: date
    end: date
    metric: str
    currency: str
    total: float
    by_service: dict[str, float]
    by_application: list[ApplicationCost]
    daily: dict[date, float]
    untagged: float | None
    forecast: CostForecast | None
    fetched_at: datetime
    stale: bool
    notes: list[str]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> CostBreakdown:
        apps = [ApplicationCost(a["applicationId"], a["displayName"], float(a["amount"]),
                                {i["name"]: float(i["amount"]) for i in a["byService"]},
                                a.get("monthlyBudget"), CostForecast.of(a.get("forecast")))
                for a in raw["byApplication"]]
        return cls(date.fromisoformat(raw["startDate"]), date.fromisoformat(raw["endDate"]),
                   raw["metric"], raw["currency"], float(raw["total"]),
                   {i["name"]: float(i["amount"]) for i in raw["byService"]}, apps,
                   {date.fromisoformat(d["date"]): float(d["amount"]) for d in raw["daily"]},
                   raw.get("untagged"), CostForecast.of(raw.get("forecast")),
                   _req_ts(raw["fetchedAt"]), bool(raw["stale"]), list(raw["notes"]))


@dataclass(frozen=True)
class UpdatePoint:
    timestamp: datetime
    value: float
    dimensions: dict[str, str]


@dataclass(frozen=True)
class MetricUpdate:
    application_id: str
    metric_type: str
    metric_name: str
    unit: str | None
    points: list[UpdatePoint]
    committed_at: datetime

    @classmethod
    def of(cls, raw: dict[str, Any]) -> MetricUpdate:
        return cls(raw["applicationId"], raw["metricType"], raw["metricName"], raw.get("unit"),
                   [UpdatePoint(_req_ts(p["timestamp"]), float(p["value"]),
                                _dims(p.get("dimensions"))) for p in raw["points"]],
                   _req_ts(raw["committedAt"]))
