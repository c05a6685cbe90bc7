"""Cost Explorer (GetCostAndUsage, GetCostForecast, GetAnomalies).

Every Cost Explorer request costs $0.01 — every *page* of a paginated answer too — so the
callers cache these answers for hours (:mod:`analytics.costs.queries`); here we only build the
requests, follow ``NextPageToken`` (Cost Explorer has no botocore paginator) and turn the
answers into the frames both backends share.
The client comes from the shared factory, which pins ``ce`` to us-east-1 (its only endpoint).
Request building is split into pure functions so tests can check every parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from analytics.core.aws_clients import AwsClients
from analytics.core.fmt import one_line
from analytics.costs.forecast import Forecast, z_for_level
from analytics.costs.frames import (
    ALL,
    DEFAULT_LEVEL,
    DEFAULT_METRIC,
    METRICS,
    TAG_KEY,
    TAG_STATUS,
    anomaly_frame,
    cost_frame,
    validate_query,
)

#: Safety valve: a runaway pagination loop would spend $0.01 per page.
MAX_PAGES = 50
ANOMALY_PAGE_SIZE = 100
CE_MODEL = "AWS Cost Explorer forecast (GetCostForecast)"


class CostExplorerPagingError(RuntimeError):
    """Cost Explorer kept returning NextPageToken beyond :data:`MAX_PAGES` pages."""


def _group_definitions(group_by: Sequence[str]) -> list[dict[str, str]]:
    return [{"Type": "DIMENSION", "Key": "SERVICE"} if g == "SERVICE"
            else {"Type": "TAG", "Key": TAG_KEY} for g in group_by]


def cost_and_usage_request(start: date, end: date, *, granularity: str, metric: str,
                           group_by: Sequence[str]) -> dict[str, Any]:
    """GetCostAndUsage parameters (End is exclusive, as in the API)."""
    validate_query(start, end, granularity=granularity, metric=metric, group_by=group_by)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": granularity,
        "Metrics": [metric],
    }
    if group_by:
        request["GroupBy"] = _group_definitions(group_by)
    return request


def tag_filter(tag: str) -> dict[str, Any]:
    return {"Tags": {"Key": TAG_KEY, "Values": [tag], "MatchOptions": ["EQUALS"]}}


def forecast_request(start: date, end: date, *, metric: str, tag: str | None,
                     level: int) -> dict[str, Any]:
    """GetCostForecast parameters: MONTHLY granularity, so a window inside one month comes back
    as one result carrying the prediction interval of the whole window."""
    validate_query(start, end, granularity="MONTHLY", metric=metric, group_by=())
    z_for_level(level)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Metric": METRICS[metric],
        "Granularity": "MONTHLY",
        "PredictionIntervalLevel": level,
    }
    if tag is not None:
        request["Filter"] = tag_filter(tag)
    return request


def anomalies_request(start: date, end: date) -> dict[str, Any]:
    """GetAnomalies parameters; ``end`` is exclusive here like everywhere else in the app, while
    the API's EndDate is inclusive, so the last day asked for is ``end - 1``."""
    validate_query(start, end, granularity="DAILY", metric=DEFAULT_METRIC, group_by=())
    last = date.fromordinal(end.toordinal() - 1)
    return {"DateInterval": {"StartDate": start.isoformat(), "EndDate": last.isoformat()},
            "MaxResults": ANOMALY_PAGE_SIZE}


def _pages(call: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        resp = call(**request, **({"NextPageToken": token} if token else {}))
        pages.append(resp)
        token = resp.get("NextPageToken")
        if not token:
            return pages
        if len(pages) >= MAX_PAGES:
            raise CostExplorerPagingError(f"more than {MAX_PAGES} pages; narrow the range")


def _keys(keys: Sequence[str], group_by: Sequence[str]) -> tuple[str, str]:
    service, tag = ALL, ALL
    for g, k in zip(group_by, keys, strict=False):
        if g == "SERVICE":
            service = k
        else:  # "Application$jobseek"; "Application$" is the untagged spend
            tag = k.split("$", 1)[1] if "$" in k else k
    return service, tag


def parse_cost_pages(pages: Sequence[dict[str, Any]], metric: str,
                     group_by: Sequence[str]) -> pd.DataFrame:
    rows: list[tuple[object, ...]] = []
    for page in pages:
        for result in page.get("ResultsByTime", []):
            start = date.fromisoformat(result["TimePeriod"]["Start"][:10])
            estimated = bool(result.get("Estimated", False))
            if group_by:
                for group in result.get("Groups", []):
                    service, tag = _keys(group.get("Keys", []), group_by)
                    amount = float(group["Metrics"][metric]["Amount"])
                    rows.append((start, service, tag, amount, estimated))
            else:
                total = result.get("Total", {}).get(metric)
                if total is not None:
                    rows.append((start, ALL, ALL, float(total["Amount"]), estimated))
    return cost_frame(rows)


def parse_forecast(resp: dict[str, Any], *, start: date, end: date, level: int) -> Forecast:
    mean = float(resp["Total"]["Amount"])
    results = resp.get("ForecastResultsByTime", [])
    lower = sum(float(r.get("PredictionIntervalLowerBound", r.get("MeanValue", 0)))
                for r in results) if results else mean
    upper = sum(float(r.get("PredictionIntervalUpperBound", r.get("MeanValue", 0)))
                for r in results) if results else mean
    return Forecast(start, end, mean, lower, upper, level, CE_MODEL)


def parse_anomalies(pages: Sequence[dict[str, Any]]) -> pd.DataFrame:
    rows: list[tuple[object, ...]] = []
    for page in pages:
        for a in page.get("Anomalies", []):
            causes = a.get("RootCauses") or [{}]
            impact = a.get("Impact", {})
            end_raw = a.get("AnomalyEndDate") or a.get("AnomalyStartDate")
            rows.append((
                a["AnomalyId"], date.fromisoformat(a["AnomalyStartDate"][:10]),
                date.fromisoformat(end_raw[:10]),
                causes[0].get("Service") or a.get("DimensionValue", ""),
                a.get("DimensionValue", ""),
                float(impact.get("TotalActualSpend", 0.0)),
                float(impact.get("TotalExpectedSpend", 0.0)),
                float(impact.get("TotalImpact", impact.get("MaxImpact", 0.0))),
                float(impact.get("TotalImpactPercentage", 0.0)),
                float(a.get("AnomalyScore", {}).get("MaxScore", 0.0)),
            ))
    return anomaly_frame(rows)


class AwsCosts:
    """Every request goes to the one ``ce`` client (us-east-1, Cost Explorer's only endpoint)."""

    def __init__(self, *, clients: AwsClients) -> None:
        self.clients = clients

    def get_cost_and_usage(self, start: date, end: date, *, granularity: str = "DAILY",
                           metric: str = DEFAULT_METRIC,
                           group_by: Sequence[str] = ("SERVICE", "TAG")) -> pd.DataFrame:
        """Costs over ``[start, end)``: one request per page of results."""
        request = cost_and_usage_request(
            start, end, granularity=granularity, metric=metric, group_by=group_by
        )
        ce = self.clients.client("ce")
        frame = parse_cost_pages(_pages(ce.get_cost_and_usage, request), metric, group_by)
        if "TAG" in group_by:
            # Grouping by a tag that is not an active cost-allocation tag puts everything in
            # "no tag": read its status with the costs (one request per 6-hour cache entry).
            try:
                frame.attrs[TAG_STATUS] = self.cost_allocation_tag_status(TAG_KEY)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                frame.attrs[TAG_STATUS] = one_line(
                    f"unknown ({error.get('Code')}: {error.get('Message')})")
            except BotoCoreError as exc:
                frame.attrs[TAG_STATUS] = one_line(f"unknown ({type(exc).__name__}: {exc})")
        return frame

    def get_cost_forecast(self, start: date, end: date, *, metric: str = DEFAULT_METRIC,
                          tag: str | None = None, level: int = DEFAULT_LEVEL) -> Forecast | None:
        """Forecast of ``[start, end)``; None when Cost Explorer has too little history."""
        request = forecast_request(start, end, metric=metric, tag=tag, level=level)
        try:
            resp = self.clients.client("ce").get_cost_forecast(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "DataUnavailableException":
                return None
            raise
        return parse_forecast(resp, start=start, end=end, level=level)

    def get_cost_anomalies(self, start: date, end: date) -> pd.DataFrame:
        """Cost Anomaly Detection's anomalies overlapping ``[start, end)``, every page."""
        request = anomalies_request(start, end)
        ce = self.clients.client("ce")
        return parse_anomalies(_pages(ce.get_anomalies, request))

    def cost_allocation_tag_status(self, key: str) -> str | None:
        """ListCostAllocationTags for one user-defined tag key (one request, $0.01)."""
        resp = self.clients.client("ce").list_cost_allocation_tags(
            TagKeys=[key], Type="UserDefined")
        for tag in resp.get("CostAllocationTags", []):
            if tag.get("TagKey") == key:
                return str(tag.get("Status"))
        return None
