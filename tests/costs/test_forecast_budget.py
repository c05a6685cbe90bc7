"""The forecast on the first and last day of a month, its simple local model, and the budget
warning (on the data layer and on the page)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pandas as pd
import pytest

from analytics.core.catalog import Catalog
from analytics.costs import service as costs
from analytics.costs.forecast import forecast_window, simple_forecast, z_for_level
from analytics.costs.model import Period
from analytics.costs.tables import budget_lines
from analytics.sources import Runtime
from tests.helpers import signed_in_app


def _daily(rt: Runtime, start: date, end: date, tag: str | None = None) -> pd.Series:
    return rt.sources.costs._daily_totals(start, end, "UnblendedCost", tag)


def test_simple_model_mean_and_interval() -> None:
    days = [date(2026, 11, d) for d in range(10, 17)]
    values = [10.0, 12.0, 11.0, 9.0, 13.0, 10.0, 12.0]
    f = simple_forecast(pd.Series(values, index=days), date(2026, 11, 17), date(2026, 12, 1))
    mean_day = sum(values) / 7
    std = pd.Series(values).std()
    assert f.mean == pytest.approx(mean_day * 14)
    assert f.upper - f.mean == pytest.approx(z_for_level(80) * std * 14 ** 0.5)
    assert f.lower < f.mean < f.upper


def test_simple_model_skips_the_first_of_the_month_and_adds_it_back_when_due() -> None:
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
    values = [300.0 if d.day == 1 else 10.0 for d in days]  # a fee billed on the 1st
    series = pd.Series(values, index=days)
    mid = simple_forecast(series, date(2026, 11, 5), date(2026, 12, 1))
    assert mid.mean == pytest.approx(10.0 * 26) and mid.upper == pytest.approx(mid.mean)
    first = simple_forecast(series, date(2026, 12, 1), date(2027, 1, 1))
    assert first.mean == pytest.approx(10.0 * 31 + 290.0)
    assert simple_forecast(pd.Series(dtype="float64"), date(2026, 12, 1), date(2027, 1, 1)) is None


def test_forecast_on_the_first_day_of_a_month(fixed_rt: Runtime) -> None:
    today = date(2026, 12, 1)
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=today)
    assert view.mtd.days == 0 and view.same_days.days == 0
    assert view.last_month.start == date(2026, 11, 1)
    js = next(a for a in view.apps if a.key == "jobseek")
    f = js.month_forecast
    assert (f.start, f.end, f.days) == (today, date(2027, 1, 1), 31)
    assert js.mtd == 0.0
    # the model: 7 complete days before Dec 1 (no 1st among them) × 31, plus Nov 1's excess
    daily = _daily(fixed_rt, date(2026, 10, 22), today, "jobseek")
    last7 = daily[[d >= date(2026, 11, 24) for d in daily.index]]
    excess = daily[date(2026, 11, 1)] - last7.mean()
    assert f.mean == pytest.approx(last7.mean() * 31 + excess)
    assert 700 < f.mean < 950  # about $800 a month
    assert f.lower < f.mean < f.upper


def test_forecast_on_the_last_day_of_a_month(fixed_rt: Runtime) -> None:
    today = date(2026, 11, 30)
    view = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=today)
    assert view.mtd.days == 29 and view.same_days == Period(
        date(2026, 10, 1), date(2026, 10, 30), view.same_days.label)
    il = next(a for a in view.apps if a.key == "ilikeyacut")
    f = il.month_forecast
    assert (f.start, f.end, f.days) == (today, date(2026, 12, 1), 1)
    daily = _daily(fixed_rt, date(2026, 11, 1), today, "ilikeyacut")
    assert il.mtd == pytest.approx(float(daily.sum()))
    last7 = daily[[d >= date(2026, 11, 23) for d in daily.index]]
    assert f.mean == pytest.approx(il.mtd + last7.mean())  # month total: MTD + one day
    assert forecast_window(today) == (today, date(2026, 12, 1))


def _with_budgets(rt: Runtime, budgets: dict[str, float | None]) -> Runtime:
    apps = tuple(a.model_copy(update={"monthly_budget_usd": budgets.get(a.id,
                                                                        a.monthly_budget_usd)})
                 for a in rt.catalog.apps)
    return dataclasses.replace(rt, catalog=Catalog(apps=apps, path=rt.catalog.path))


def test_budget_warning_only_when_the_forecast_passes_it(fixed_rt: Runtime) -> None:
    today = date(2026, 11, 20)
    base = costs.cost_view(fixed_rt, fixed_rt.catalog.apps, today=today)
    js = next(a for a in base.apps if a.key == "jobseek").month_forecast
    assert base.budget_warnings == []  # defaults: $900 against about $800
    below = _with_budgets(fixed_rt, {"jobseek": round(js.mean - 1.0, 2)})
    view = costs.cost_view(below, below.catalog.apps, today=today)
    assert len(view.budget_warnings) == 1 and "JobSeek" in view.budget_warnings[0]
    assert next(a for a in view.apps if a.key == "jobseek").over_budget
    above = _with_budgets(fixed_rt, {"jobseek": round(js.mean + 1.0, 2)})
    view = costs.cost_view(above, above.catalog.apps, today=today)
    assert view.budget_warnings == []
    if js.upper > js.mean + 1.0:  # inside the range: a caution, not a warning
        assert any("upper end" in c for c in view.budget_cautions)
    lines = budget_lines(view, next(a for a in view.apps if a.key == "jobseek"))
    assert set(lines["budget_usd"]) == {round(js.mean + 1.0, 2)}
    assert lines["forecast_usd"].dropna().iloc[-1] == pytest.approx(js.mean)
    assert lines["actual_usd"].dropna().iloc[-1] == pytest.approx(
        next(a for a in view.apps if a.key == "jobseek").mtd)


def test_page_shows_the_budget_warning(installed_runtime: Runtime) -> None:
    at = signed_in_app("app_pages/costs.py").run()
    assert not at.exception
    assert not [e for e in at.error if "passes the budget" in e.value]
    original = installed_runtime.catalog
    try:
        installed_runtime.catalog = _with_budgets(installed_runtime, {"ilikeyacut": 1.0}).catalog
        at = signed_in_app("app_pages/costs.py").run()
    finally:
        installed_runtime.catalog = original
    assert not at.exception
    warnings = [e.value for e in at.error if "passes the budget" in e.value]
    assert len(warnings) == 1 and "iLikeYaCut" in warnings[0] and "$1.00" in warnings[0]
