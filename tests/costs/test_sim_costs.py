"""The simulator's cost line items: determinism, magnitudes, history window, one anomaly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from analytics.core.catalog import load_catalog
from analytics.local import sim_costs
from analytics.local.store import LocalStore
from tests.costs.conftest import ROOT, SEED

CATALOG = load_catalog(ROOT / "apps.toml")


def _ms(d: date, hour: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, hour, tzinfo=UTC).timestamp() * 1000)


def _items(store: LocalStore) -> pd.DataFrame:
    return store.cursor().execute(
        "SELECT * FROM cost_items ORDER BY day, service, app_tag").df()


def test_same_seed_same_items_different_seed_different() -> None:
    day = date(2026, 11, 10)
    a = sim_costs.day_items(CATALOG, day, SEED)
    assert a == sim_costs.day_items(CATALOG, day, SEED)
    assert a != sim_costs.day_items(CATALOG, day, SEED + 1)
    assert {r[1] for r in a} == set(sim_costs.SERVICES)  # all seven services appear


def test_history_covers_the_previous_month_and_45_days() -> None:
    for today in (date(2026, 11, 26), date(2026, 12, 1), date(2026, 12, 31), date(2026, 3, 1)):
        start = sim_costs.history_start(today)
        assert (today - start).days >= 45
        prev_first = (today.replace(day=1) - pd.Timedelta(days=1)).replace(day=1)
        assert start <= prev_first and (today - start).days <= 62


def test_first_start_then_ticks_write_each_complete_day_once(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "c.duckdb")
    clock = [_ms(date(2026, 11, 26), 9)]
    hook = sim_costs.make_hook(CATALOG, seed=SEED, clock_ms=lambda: clock[0])
    hook(store, 0, 0)  # a metric step from long ago: the cost history is anchored on now
    first = _items(store)
    assert first["day"].min().date() == date(2026, 10, 1)
    assert first["day"].max().date() == date(2026, 11, 25)  # today (partial) is not written
    hook(store, 0, 0)
    assert len(_items(store)) == len(first)  # nothing twice
    clock[0] = _ms(date(2026, 11, 28), 1)
    hook(store, 0, 0)
    after = _items(store)
    assert after["day"].max().date() == date(2026, 11, 27)
    # incremental writing gives what one pass would have given
    other = LocalStore(tmp_path / "d.duckdb")
    sim_costs.write_days(
        other, CATALOG, seed=SEED, first=date(2026, 10, 1), until=date(2026, 11, 28)
    )
    pd.testing.assert_frame_equal(after, _items(other))


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    store = LocalStore(tmp_path_factory.mktemp("months") / "m.duckdb")
    sim_costs.write_days(store, CATALOG, seed=SEED, first=date(2026, 7, 1), until=date(2026, 11, 1))
    return _items(store)


def test_monthly_magnitudes(months: pd.DataFrame) -> None:
    months["month"] = months["day"].dt.month
    per = months.groupby(["month", "app_tag"])["unblended_usd"].sum().unstack()
    assert per["ilikeyacut"].between(270, 340).all(), per
    assert per["jobseek"].between(730, 880).all(), per
    share = per[""] / per.sum(axis=1)
    assert share.between(0.07, 0.09).all(), share
    amortized = months.groupby("month")["amortized_usd"].sum()
    unblended = months.groupby("month")["unblended_usd"].sum()
    assert ((amortized - unblended).abs() < 0.02 * unblended).all()  # same month, other timing
    first = months[months["day"].dt.day == 1]
    rds = first[first["service"] == sim_costs.RDS]
    assert (rds["unblended_usd"] > 250).all() and (rds["amortized_usd"] < 15).all()


def test_one_anomaly_a_month(months: pd.DataFrame) -> None:
    flagged = months[months["anomaly"]]
    assert sorted(set(flagged["day"].dt.month)) == [7, 8, 9, 10]
    for _, rows in flagged.groupby(flagged["day"].dt.month):
        assert rows[["service", "app_tag"]].drop_duplicates().shape[0] == 1
        assert 1 <= len(rows) <= 2
        assert (rows["unblended_usd"] > 3 * rows["expected_usd"]).all()
