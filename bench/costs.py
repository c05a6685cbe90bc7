"""Costs page figures quoted in the README.

    .venv/bin/python -m bench.costs

Prints, on the local backend: the first-start fill of the cost history (line items, seconds),
the cold and warm server-side render of the Costs page (AppTest, median of 5) with the cost
queries per view, and the weekly report's build time and size; on the aws backend (Cost Explorer
stubbed with botocore's Stubber, so nothing leaves the machine): Cost Explorer requests per cold
and warm view, and the most they can cost per day and month with the 6-hour cache.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from analytics.core.cache import QueryCache
from analytics.core.catalog import load_catalog
from analytics.core.settings import load_settings
from analytics.costs import service as costs
from analytics.local import sim_costs
from analytics.local.store import LocalStore
from analytics.reports import cost_review as report
from analytics.sources import Runtime, build_runtime, set_runtime
from bench.common import ROOT, local_runtime, median_time

PAGE = "app_pages/costs.py"


def cost_fill_figures() -> None:
    store = LocalStore(Path(tempfile.mkdtemp(prefix="bench-costs-")) / "c.duckdb")
    catalog = load_catalog(ROOT / "apps.toml")
    t0 = time.perf_counter()
    rows = sim_costs.fill_costs(store, catalog, seed=7, now_ms=int(time.time() * 1000))
    print(f"local cost history: {rows:,} line items "
          f"({sim_costs.history_start(datetime.now(UTC).date())} to yesterday) "
          f"written in {(time.perf_counter() - t0) * 1000:.0f} ms")
    store.close()


def render_figures(rt: Runtime) -> None:
    from tests.helpers import signed_in_app

    set_runtime(rt)

    def view() -> None:
        at = signed_in_app(PAGE, timeout=120).run()
        assert not at.exception, at.exception

    def calls() -> int:
        return rt.cache.snapshot()["upstream_calls"].get("costs", 0)

    def expire() -> None:
        rt.cache._entries.clear()

    view()  # import warm-up
    expire()
    c0 = calls()
    cold = median_time(view, before=expire)
    cold_calls = (calls() - c0) / 5
    c0 = calls()
    warm = median_time(view)
    warm_calls = (calls() - c0) / 5
    print(f"  Costs page (admin, all apps): cold render {cold * 1000:.0f} ms, warm "
          f"{warm * 1000:.0f} ms; cost queries per view: cold {cold_calls:g}, warm {warm_calls:g}")
    week = report.week_label(datetime.now(UTC).date() - timedelta(days=7))
    out = tempfile.mkdtemp(prefix="bench-report-")
    t0 = time.perf_counter()
    html_path, md_path = report.write_report(rt, week, out_dir=out)
    print(f"  weekly report {week}: built in {(time.perf_counter() - t0) * 1000:.0f} ms "
          f"(warm cache), HTML {html_path.stat().st_size / 1e6:.1f} MB self-contained, "
          f"Markdown {md_path.stat().st_size / 1e3:.1f} kB")
    set_runtime(None)


def aws_figures() -> None:
    from botocore.stub import Stubber

    from analytics.costs.aws import AwsCosts
    from analytics.costs.queries import ce_requests

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                             secrets={})
    cache = QueryCache()
    catalog = load_catalog(ROOT / "apps.toml")
    rt = build_runtime(settings, cache=cache, catalog=catalog)
    clients = cast(AwsCosts, rt.sources.costs).clients
    today = datetime.now(UTC).date()
    forecast = {"Total": {"Amount": "100", "Unit": "USD"}, "ForecastResultsByTime": [{
        "TimePeriod": {"Start": "2026-11-26", "End": "2026-12-01"}, "MeanValue": "100",
        "PredictionIntervalLowerBound": "90", "PredictionIntervalUpperBound": "110"}]}
    with Stubber(clients.client("ce")) as stub:
        stub.add_response("get_cost_and_usage", {"ResultsByTime": [], "NextPageToken": "p2"})
        stub.add_response("get_cost_and_usage", {"ResultsByTime": []})
        stub.add_response("list_cost_allocation_tags", {"CostAllocationTags": [
            {"TagKey": "Application", "Type": "UserDefined", "Status": "Active"}]})
        for _ in range(len(catalog.apps) + 1):
            stub.add_response("get_cost_forecast", forecast)
        stub.add_response("get_anomalies", {"Anomalies": []})
        costs.cost_view(rt, catalog.apps, today=today)
        cold = ce_requests(rt)
        costs.cost_view(rt, catalog.apps, today=today)
        warm = ce_requests(rt) - cold
    per_day = cold * 0.01 * 24 / 6
    print(f"  Costs page: {cold} Cost Explorer requests per cold view (usage in 2 pages, the "
          f"Application tag's status, {len(catalog.apps)} app forecasts + the account's, "
          f"anomalies), {warm} warm; "
          f"worst case with the 6 h cache: ${per_day:.2f}/day, ${per_day * 30:.2f}/month "
          f"for every viewer together")


def main() -> None:
    print("Costs bench")
    cost_fill_figures()
    rt, fill_s = local_runtime(14)
    print(f"local backend: 14 days of metrics + cost history, first start {fill_s:.1f} s")
    render_figures(rt)
    rt.stop()
    print("aws backend (Cost Explorer stubbed):")
    aws_figures()


if __name__ == "__main__":
    main()
