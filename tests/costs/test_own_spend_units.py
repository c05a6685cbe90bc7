"""Pricing the dashboard's own AWS calls, and the unit economics (MAU, requests)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from analytics.core.cache import Cached
from analytics.costs import own_spend, unit_economics
from analytics.costs import service as costs
from analytics.sources import Runtime

NOW = datetime(2026, 11, 30, 7, 30, tzinfo=UTC).timestamp()


def test_prices_from_the_counters(fixed_rt: Runtime) -> None:
    c = fixed_rt.cache
    for _ in range(3):
        c.count_aws_call("ce.GetCostAndUsage")
    c.count_aws_call("cloudwatch.GetMetricData", 2500)
    c.count_aws_call("cloudwatch.DescribeAlarms")
    for _ in range(1000):
        c.count_aws_call("dynamodb.Query")
    c.count_aws_call("logs.StartQuery")
    c.count_aws_call("tagging.GetResources")
    spend = own_spend.own_spend(fixed_rt, now=NOW, since=NOW - 2 * 3600)
    by_api = {p.api: p.usd for p in spend.lines}
    assert by_api["ce.GetCostAndUsage"] == pytest.approx(0.03)
    assert by_api["cloudwatch.GetMetricData"] == pytest.approx(0.025)
    assert by_api["cloudwatch.DescribeAlarms"] == pytest.approx(0.00001)
    assert by_api["dynamodb.Query"] == pytest.approx(1000 * 4 / 1e6 * 0.125)
    assert by_api["logs.StartQuery"] is None and spend.unknown == ["logs.StartQuery"]
    assert by_api["tagging.GetResources"] == 0.0
    total = 0.03 + 0.025 + 0.00001 + 0.0005
    assert spend.total_usd == pytest.approx(total)
    # 2 hours of calls: the rate × 30 days of November; "today" = since the process started
    assert spend.month_projection_usd == pytest.approx(total / 2 * 24 * 30)
    assert spend.today_usd == pytest.approx(total)
    longer = own_spend.own_spend(fixed_rt, now=NOW, since=NOW - 48 * 3600)
    hours_today = 7.5
    assert longer.today_usd == pytest.approx(total / 48 * hours_today)


def test_local_backend_spends_nothing(fixed_rt: Runtime) -> None:
    spend = own_spend.own_spend(fixed_rt)
    assert spend.backend == "local" and spend.total_usd == 0 and spend.lines == []
    assert spend.month_projection_usd == 0 and spend.table().columns[0] == "api"


class _FakeCustom:
    """A custom-metrics source answering ``metric_stats`` with ``fn(app_id, start)``."""

    def __init__(self, fn: Callable[[str, datetime], Cached[pd.DataFrame]]) -> None:
        self.fn, self.calls = fn, list[tuple]()

    def metric_names(self, app: object) -> list[str]:
        return []

    def metric_stats(self, app_id: str, metric_name: str, *, start_ms: int, end_ms: int,
                     period: int, stat: str, dims: str | None, now_ms: int) -> pd.DataFrame:
        start = datetime.fromtimestamp(start_ms / 1000, UTC)
        self.calls.append((app_id, metric_name, start_ms, end_ms, period, stat))
        return self.fn(app_id, start).value

    def recent_points(self, *args: object, **kwargs: object) -> pd.DataFrame:
        return pd.DataFrame()


def _fake_custom_metrics(rt: Runtime, fn: Callable[[str, datetime], Cached[pd.DataFrame]]
                         ) -> list[tuple]:
    fake = _FakeCustom(fn)
    rt.sources = dataclasses.replace(rt.sources, custom=fake)
    return fake.calls


def test_cost_per_mau_is_cost_over_the_months_maximum(fixed_rt: Runtime) -> None:
    def frame(app_id, start):
        values = [1000.0, 4000.0, 2500.0] if app_id == "jobseek" else [3000.0, 6000.0]
        return Cached(pd.DataFrame({"timestamp": pd.date_range(start, periods=len(values)),
                                    "value": values}), 0.0)

    calls = _fake_custom_metrics(fixed_rt, frame)
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=date(2026, 11, 20))
    rows = unit_economics.cost_per_mau(fixed_rt, view)
    assert {c[1] for c in calls} == {"ActiveUsers"} and {c[5] for c in calls} == {"Maximum"}
    js_last = next(r for r in rows if r.app == "jobseek" and "October" in r.period)
    js_cost = next(a for a in view.apps if a.key == "jobseek").last_month
    assert js_last.mau == 4000.0
    assert js_last.cost_per_mau == pytest.approx(js_cost / 4000.0)
    assert js_last.over_target == (js_cost / 4000.0 > unit_economics.TARGET_PER_MAU_USD)
    table = unit_economics.mau_table(rows)
    assert set(table["target_usd"]) == {0.10} and table["cost_per_mau_usd"].notna().all()


@pytest.mark.parametrize("behaviour", ["empty", "raises", "zero"])
def test_mau_unknown_never_crashes(fixed_rt: Runtime, behaviour: str) -> None:
    def fn(app_id: str, start: datetime) -> Cached[pd.DataFrame]:
        if behaviour == "raises":
            raise ConnectionError("ingest table unreachable")
        values = [0.0] if behaviour == "zero" else []
        return Cached(pd.DataFrame({"timestamp": [start] * len(values), "value": values}), 0.0)
    _fake_custom_metrics(fixed_rt, fn)
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=date(2026, 11, 20))
    rows = unit_economics.cost_per_mau(fixed_rt, view)
    assert rows and all(r.mau is None and r.cost_per_mau is None for r in rows)
    assert all(r.note.startswith("MAU unknown: send ActiveUsers through the ingest API")
               for r in rows)


def test_cost_per_1000_requests(installed_runtime: Runtime) -> None:
    view = costs.cost_view(installed_runtime, installed_runtime.catalog.apps)
    table = unit_economics.cost_per_1k_requests(installed_runtime, view)
    assert list(table["app"]) == ["iLikeYaCut", "JobSeek"]
    for row in table.itertuples():
        if row.requests:
            assert row.cost_per_1k_requests_usd == pytest.approx(
                row.cost_usd / row.requests * 1000, rel=1e-3)
            assert 0.001 < row.cost_per_1k_requests_usd < 1.0
