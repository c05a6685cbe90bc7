"""Alarms figures quoted in docs/alarms.md.

    .venv/bin/python -m bench.alarms

Prints, on the local backend with 14 days x 2 apps: the cost of the first 14-day evaluation and
of a refresh one period later, the Alarms page's server-side render (AppTest, median of 5; cold
= shared cache emptied, the backend's kept evaluation stays, as CloudWatch keeps alarm state),
and how the simulator's incidents show up as alarms (tripped, detection delay, false alarms).
On the aws backend (moto, with CloudWatch's 100-record pages) the API calls per refresh.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import cast

from analytics.alarms import service as alarms
from analytics.alarms.config import parse_alarms
from analytics.alarms.local import LocalAlarms
from analytics.alarms.rules import ALARM
from analytics.local.simulator import incidents_between
from analytics.metrics.local import LocalMetrics
from analytics.sources import Runtime, build_runtime, set_runtime
from bench.common import ROOT, local_runtime, median_time


def evaluation_figures(rt: Runtime) -> None:
    metrics = LocalMetrics(store=rt.local.store) if rt.local else rt.sources.metrics
    now = datetime.now(UTC)
    for app in rt.catalog.apps:
        cfg = parse_alarms(app, rt.catalog.path)
        first = median_time(lambda c=cfg: LocalAlarms(metrics=metrics).evaluate_alarms(c, now=now),
                            runs=3)
        kept = LocalAlarms(metrics=metrics)
        kept.evaluate_alarms(cfg, now=now - timedelta(hours=2))
        steps = []
        for k in range(1, 13):  # extend by one 5-minute period at a time
            t0 = time.perf_counter()
            kept.evaluate_alarms(cfg, now=now - timedelta(hours=2) + timedelta(minutes=5 * k))
            steps.append(time.perf_counter() - t0)
        print(f"  {app.id:>10}: {len(cfg.rules):2d} alarms; first 14-day evaluation "
              f"{first * 1000:5.0f} ms, refresh one period later "
              f"{statistics.median(steps) * 1000:4.1f} ms")


def incident_figures(rt: Runtime) -> None:
    now = datetime.now(UTC)
    t0 = now - timedelta(days=14)
    tripped = total = false = 0
    delays: list[float] = []
    for app in rt.catalog.apps:
        cfg = parse_alarms(app, rt.catalog.path)
        runs = cast(LocalAlarms, rt.sources.alarms).evaluate_alarms(cfg, now=now)
        incs = incidents_between(app, int(t0.timestamp() * 1000), int(now.timestamp() * 1000),
                                 seed=rt.settings.simulator_seed)
        windows = [(datetime.fromtimestamp(i.start_ms / 1000, UTC),
                    datetime.fromtimestamp(i.end_ms / 1000, UTC) + timedelta(minutes=15))
                   for i in incs]
        fired = [tr.at for _, r in runs.values() for tr in r.transitions if tr.new == ALARM]
        for start, end in windows:
            if start < t0 + timedelta(minutes=30) or end > now:
                continue  # cut by the history's edges
            total += 1
            hits = [at for at in fired if start < at <= end]
            if hits:
                tripped += 1
                delays.append((min(hits) - start).total_seconds() / 60)
        false += sum(not any(a < at <= b for a, b in windows) for at in fired)
    print(f"  incidents in 14 days: {total}, tripped an alarm: {tripped}; first ALARM "
          f"{statistics.median(delays):.0f} min after the incident starts (median, max "
          f"{max(delays):.0f}); ALARM transitions outside incidents: {false}")


def render_figures(rt: Runtime) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.helpers import signed_in_app

    set_runtime(rt)

    def view() -> AppTest:
        at = signed_in_app("app_pages/alarms.py", timeout=120, query={"range": "24h"}).run()
        assert not at.exception, at.exception
        return at

    view()  # imports and the first evaluation, not measured
    cold = median_time(view, before=rt.cache._entries.clear)
    warm = median_time(view)
    print(f"  Alarms page (24 h history): cold render {cold * 1000:5.0f} ms, warm "
          f"{warm * 1000:5.0f} ms")
    set_runtime(None)


def aws_figures() -> None:
    import boto3
    from moto import mock_aws
    from moto.cloudwatch.responses import CloudWatchResponse

    from analytics.core.cache import QueryCache
    from analytics.core.catalog import load_catalog
    from analytics.core.settings import load_settings
    from tests.alarms.conftest import paged_describe_alarms

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    original = CloudWatchResponse.describe_alarms
    CloudWatchResponse.describe_alarms = paged_describe_alarms  # type: ignore[method-assign]
    try:
        with mock_aws():
            cw = boto3.client("cloudwatch", region_name="us-east-1")
            catalog = load_catalog(ROOT / "apps.toml")
            for app in catalog.apps:
                for i in range(150):
                    cw.put_metric_alarm(
                        AlarmName=f"{app.alarm_prefix}alarm-{i:03d}", Namespace="AWS/Lambda",
                        MetricName="Errors", Statistic="Sum", Period=60, EvaluationPeriods=1,
                        Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold")
            settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                     secrets={})
            cache = QueryCache()
            rt = build_runtime(settings, cache=cache, catalog=catalog)
            alarms.alarm_states(rt, catalog.apps)
            alarms.firing_counts(rt, catalog.apps)
            cold = dict(cache.snapshot()["aws_calls"])
            alarms.alarm_states(rt, catalog.apps)
            alarms.firing_counts(rt, catalog.apps)
            warm = sum(cache.snapshot()["aws_calls"].values()) - sum(cold.values())
            print(f"  2 apps x 150 alarms: {sum(cold.values())} AWS calls for the page + "
                  f"Overview counts + sidebar badge within 60 s ({cold}), {warm} when cached")
    finally:
        CloudWatchResponse.describe_alarms = original  # type: ignore[method-assign]


def main() -> None:
    rt, fill_s = local_runtime(14)
    try:
        print(f"alarms, local backend: 14 days x 2 apps filled in {fill_s:.1f} s")
        evaluation_figures(rt)
        incident_figures(rt)
        render_figures(rt)
    finally:
        rt.stop()
    print("alarms, aws backend (moto):")
    aws_figures()


if __name__ == "__main__":
    main()
