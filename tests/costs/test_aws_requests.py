"""Cost Explorer request building and pagination, checked with botocore's Stubber."""

from __future__ import annotations

from datetime import date

import pytest
from botocore.stub import Stubber

from analytics.costs.aws import (
    MAX_PAGES,
    CostExplorerPagingError,
    cost_and_usage_request,
    forecast_request,
)
from analytics.costs.forecast import forecast_window
from analytics.costs.frames import ALL, CostQueryError
from analytics.sources import Runtime
from tests.costs.conftest import ce_page, forecast_response

BOTH = ("SERVICE", "TAG")


def test_ce_client_is_pinned_to_us_east_1(aws_rt: tuple[Runtime, Stubber]) -> None:
    rt, _ = aws_rt
    assert rt.settings.region == "eu-west-1"
    # botocore names the partition endpoint "aws-global"; the endpoint is us-east-1's
    assert rt.sources.costs.clients.client("ce").meta.endpoint_url == "https://ce.us-east-1.amazonaws.com"
    assert rt.sources.costs.clients.client("cloudwatch").meta.region_name == "eu-west-1"


def test_get_cost_and_usage_follows_next_page_token(aws_rt: tuple[Runtime, Stubber]) -> None:
    rt, stub = aws_rt
    request = {
        "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-03"}, "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": "Application"}],
    }
    stub.add_response("get_cost_and_usage", ce_page(
        [("2026-11-01", [("AWS Lambda", "jobseek", 4.5), ("AWS Lambda", "", 0.25)])], "tok-2"),
        request)
    stub.add_response("get_cost_and_usage", ce_page(
        [("2026-11-02", [("Amazon DynamoDB", "ilikeyacut", 1.75)])]),
        {**request, "NextPageToken": "tok-2"})
    frame = rt.sources.costs.get_cost_and_usage(date(2026, 11, 1), date(2026, 11, 3))
    stub.assert_no_pending_responses()
    rows = {(str(r.start), r.service, r.tag): r.amount for r in frame.itertuples()}
    assert rows == {("2026-11-01", "AWS Lambda", "jobseek"): 4.5,
                    ("2026-11-01", "AWS Lambda", ""): 0.25,  # "Application$": untagged
                    ("2026-11-02", "Amazon DynamoDB", "ilikeyacut"): 1.75}
    assert rt.cache.snapshot()["aws_calls"] == {"ce.GetCostAndUsage": 2}  # every page is paid


def test_monthly_amortized_grouped_by_tag_only(aws_rt: tuple[Runtime, Stubber]) -> None:
    rt, stub = aws_rt
    resp = {"GroupDefinitions": [{"Type": "TAG", "Key": "Application"}], "ResultsByTime": [
        {"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Estimated": False,
         "Groups": [{"Keys": ["Application$jobseek"],
                     "Metrics": {"AmortizedCost": {"Amount": "801.5", "Unit": "USD"}}}]},
        {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-26"}, "Estimated": True,
         "Groups": [{"Keys": ["Application$jobseek"],
                     "Metrics": {"AmortizedCost": {"Amount": "650", "Unit": "USD"}}}]}]}
    stub.add_response("get_cost_and_usage", resp, {
        "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-26"}, "Granularity": "MONTHLY",
        "Metrics": ["AmortizedCost"], "GroupBy": [{"Type": "TAG", "Key": "Application"}]})
    frame = rt.sources.costs.get_cost_and_usage(date(2026, 10, 1), date(2026, 11, 26),
                                          granularity="MONTHLY", metric="AmortizedCost",
                                          group_by=("TAG",))
    assert list(frame["service"]) == [ALL, ALL]
    assert list(frame["amount"]) == [801.5, 650.0]
    assert list(frame["estimated"]) == [False, True]


def test_ungrouped_request_has_no_group_by_and_reads_the_total() -> None:
    req = cost_and_usage_request(
        date(2026, 11, 1),
        date(2026, 11, 2),
        granularity="DAILY",
        metric="UnblendedCost",
        group_by=(),
    )
    assert "GroupBy" not in req
    with pytest.raises(CostQueryError, match="end after it starts"):
        cost_and_usage_request(
            date(2026, 11, 1),
            date(2026, 11, 1),
            granularity="DAILY",
            metric="UnblendedCost",
            group_by=BOTH,
        )
    with pytest.raises(CostQueryError, match="unknown cost metric"):
        cost_and_usage_request(
            date(2026, 11, 1),
            date(2026, 11, 2),
            granularity="DAILY",
            metric="BlendedCost",
            group_by=BOTH,
        )
    with pytest.raises(CostQueryError, match="cannot group by"):
        cost_and_usage_request(
            date(2026, 11, 1),
            date(2026, 11, 2),
            granularity="DAILY",
            metric="UnblendedCost",
            group_by=("REGION",),
        )


def test_runaway_pagination_stops(aws_rt: tuple[Runtime, Stubber]) -> None:
    rt, stub = aws_rt
    for _ in range(MAX_PAGES):
        stub.add_response("get_cost_and_usage", ce_page([], "again"))
    with pytest.raises(CostExplorerPagingError):
        rt.sources.costs.get_cost_and_usage(date(2026, 11, 1), date(2026, 11, 2))


@pytest.mark.parametrize(("today", "start", "end"), [
    (date(2026, 11, 1), "2026-11-01", "2026-12-01"),   # first day: the whole month
    (date(2026, 11, 30), "2026-11-30", "2026-12-01"),  # last day: one day, never empty
    (date(2026, 12, 31), "2026-12-31", "2027-01-01"),  # last day of the year
    (date(2028, 2, 29), "2028-02-29", "2028-03-01"),   # leap day
])
def test_forecast_request_to_the_end_of_the_month(aws_rt: tuple[Runtime, Stubber], today: date,
                                                  start: str, end: str) -> None:
    rt, stub = aws_rt
    s, e = forecast_window(today)
    stub.add_response("get_cost_forecast", forecast_response(120.0, 100.0, 150.0, start, end), {
        "TimePeriod": {"Start": start, "End": end}, "Metric": "UNBLENDED_COST",
        "Granularity": "MONTHLY", "PredictionIntervalLevel": 80,
        "Filter": {"Tags": {"Key": "Application", "Values": ["jobseek"],
                            "MatchOptions": ["EQUALS"]}},
    })
    f = rt.sources.costs.get_cost_forecast(s, e, tag="jobseek")
    stub.assert_no_pending_responses()
    assert (f.start.isoformat(), f.end.isoformat()) == (start, end)
    assert (f.mean, f.lower, f.upper, f.level) == (120.0, 100.0, 150.0, 80)


def test_account_forecast_amortized_has_no_filter() -> None:
    req = forecast_request(
        date(2026, 11, 26), date(2026, 12, 1), metric="AmortizedCost", tag=None, level=90
    )
    assert req == {"TimePeriod": {"Start": "2026-11-26", "End": "2026-12-01"},
                   "Metric": "AMORTIZED_COST", "Granularity": "MONTHLY",
                   "PredictionIntervalLevel": 90}
    with pytest.raises(CostQueryError, match=r"51\.\.99"):
        forecast_request(
            date(2026, 11, 26), date(2026, 12, 1), metric="AmortizedCost", tag=None, level=100
        )


def test_forecast_without_enough_history_is_none(aws_rt: tuple[Runtime, Stubber]) -> None:
    rt, stub = aws_rt
    stub.add_client_error("get_cost_forecast", "DataUnavailableException", "no data")
    assert rt.sources.costs.get_cost_forecast(date(2026, 11, 26), date(2026, 12, 1)) is None


def _anomaly(aid: str, start: str, impact: float, dim: str) -> dict:
    return {"AnomalyId": aid, "AnomalyStartDate": start, "AnomalyEndDate": start,
            "DimensionValue": dim, "MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/x",
            "RootCauses": [{"Service": "AWS Lambda", "Region": "us-east-1"}],
            "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.2},
            "Impact": {"MaxImpact": impact, "TotalImpact": impact, "TotalActualSpend": impact + 5,
                       "TotalExpectedSpend": 5.0, "TotalImpactPercentage": impact / 5 * 100}}


def test_get_anomalies_pages_and_inclusive_end_date(aws_rt: tuple[Runtime, Stubber]) -> None:
    rt, stub = aws_rt
    req = {"DateInterval": {"StartDate": "2026-10-01", "EndDate": "2026-11-25"},
           "MaxResults": 100}
    stub.add_response("get_anomalies", {"Anomalies": [_anomaly("a1", "2026-10-12", 30.0,
                                                               "jobseek")],
                                        "NextPageToken": "p2"}, req)
    stub.add_response("get_anomalies", {"Anomalies": [_anomaly("a2", "2026-11-20", 12.5,
                                                               "AWS Lambda")]},
                      {**req, "NextPageToken": "p2"})
    frame = rt.sources.costs.get_cost_anomalies(date(2026, 10, 1), date(2026, 11, 26))
    stub.assert_no_pending_responses()
    assert list(frame["anomaly_id"]) == ["a1", "a2"]
    assert list(frame["impact_usd"]) == [30.0, 12.5]
    assert list(frame["expected_usd"]) == [5.0, 5.0]
    assert frame.loc[0, "service"] == "AWS Lambda" and frame.loc[0, "tag"] == "jobseek"
    assert rt.cache.snapshot()["aws_calls"]["ce.GetAnomalies"] == 2
