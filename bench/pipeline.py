"""Pipeline and disaster-recovery figures quoted in the README and docs/dr.md.

    .venv/bin/python -m bench.pipeline [--days 365]

On the local backend (the simulator's full density: every API, Lambda and table of every app,
raw samples): seconds per app-day of one day's run and of a backfill of ``--days`` days, the
rollups' rows and bytes per app-year (DuckDB's JSON, and DynamoDB's billed item size for the
same records), the weekly and monthly packs' build time, and the drill: a backup copy taken,
then restored, counted, sampled and deleted, with its achieved RPO and duration. The aws drill
runs on moto (its durations are moto's, not AWS's: docs/dr.md has AWS's). The store is kept in
``bench/out/`` so a second run only tops it up.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.dr.local import LocalDrill
from analytics.dr.model import render
from analytics.local.backup import take_backup
from analytics.pipeline.aws import item_size, rollup_item
from analytics.pipeline.model import ReportSpec, backfill_request, day_request
from analytics.pipeline.service import execute
from analytics.pipeline.steps import report
from analytics.reports.cost_review import week_label
from analytics.sources import Runtime, build_runtime
from bench.common import ROOT


def runtime(days: int, data_dir: Path) -> tuple[Runtime, float]:
    t0 = time.perf_counter()
    rt = build_runtime(load_settings({
        "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(data_dir),
        "SIMULATOR_LIVE": "false", "SIMULATOR_HISTORY_DAYS": str(days + 1),
        "INGEST_ENABLED": "false"}, secrets={}), cache=QueryCache())
    return rt, time.perf_counter() - t0


def run_figures(rt: Runtime, days: int) -> None:
    today = datetime.now(UTC).date()
    apps = len(rt.catalog.apps)
    times = []
    for _ in range(3):
        rt.cache.reset()
        t0 = time.perf_counter()
        rec = execute(rt, day_request(today - timedelta(days=1), today=today), today=today)
        times.append(time.perf_counter() - t0)
        assert rec.status == "succeeded", rec.error
    day_s = statistics.median(times)
    print(f"one day's run: {day_s:.2f} s for {apps} apps = {day_s / apps:.3f} s per app-day "
          f"({rec.counts['metric_rows']} metric rows, {rec.counts['cost_rows']} cost rows, "
          f"{rec.counts['custom_rows']} custom rows; median of 3)")
    rt.cache.reset()
    first, last = today - timedelta(days=days), today - timedelta(days=1)
    t0 = time.perf_counter()
    rec = execute(rt, backfill_request(first, last, today=today), today=today)
    took = time.perf_counter() - t0
    assert rec.status == "succeeded", rec.error
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in rec.durations_s.items())
    print(f"{days}-day backfill: {took:.1f} s for {apps} apps x {days} days = "
          f"{took / (apps * days):.3f} s per app-day ({steps}; "
          f"{len(backfill_request(first, last, today=today).chunks())} passes of <= 31 days)")
    ids = list(rt.catalog.ids())
    stored = [r for r in rt.sources.rollups.get_rollups(ids, start=first, end=today)]
    per_day_json = sum(len(r.to_json()) for r in stored) / len(stored)
    per_day_ddb = sum(item_size(rollup_item(r)) for r in stored) / len(stored)
    print(f"rollups per app-year: 365 rows (one per app and day; plus 365 for the unassigned "
          f"costs); {per_day_json * 365 / 1e6:.2f} MB of JSON (local), "
          f"{per_day_ddb * 365 / 1e6:.2f} MB of DynamoDB item size "
          f"(mean item {per_day_ddb / 1024:.1f} KB over {len(stored):,} stored rollups: "
          f"{-(-per_day_ddb // 1024):.0f} write units per put)")


def report_figures(rt: Runtime) -> None:
    today = datetime.now(UTC).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    for spec in (ReportSpec("week", week_label(today - timedelta(days=7))),
                 ReportSpec("month", last_month)):
        times = []
        for _ in range(3):
            rt.cache.reset()
            t0 = time.perf_counter()
            report(rt, [spec], today=today, link_ttl_s=3600)
            times.append(time.perf_counter() - t0)
        print(f"{spec.kind}ly pack {spec.label}: built, stored and announced in "
              f"{statistics.median(times):.2f} s (cold cache, median of 3)")


def drill_figures(rt: Runtime, data_dir: Path) -> None:
    assert rt.local is not None
    backups = data_dir / "backups"
    t0 = time.perf_counter()
    b = take_backup(rt.local.store, backups, now_ms=int(time.time() * 1000))
    print(f"local backup copy: {b.size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
    rep = LocalDrill(store=rt.local.store, backup_dir=backups, rng=random.Random(1)).drill(
        sample=50)
    print(render(rep))
    print(f"local drill: achieved RPO {rep.achieved_rpo_s:.0f} s (a backup just taken; worst "
          f"case the 6-hour interval), restore duration {rep.duration_s:.2f} s")


def moto_drill_figures() -> None:
    import os

    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from analytics.core.aws_clients import AwsClients
    from analytics.dr.aws import AwsDrill

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="bench-metrics", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                                    {"AttributeName": "timestamp", "KeyType": "RANGE"}],
                         AttributeDefinitions=[
                             {"AttributeName": "metricId", "AttributeType": "S"},
                             {"AttributeName": "timestamp", "AttributeType": "N"}])
        old = int((time.time() - 3600) * 1000)
        for i in range(2000):
            ddb.put_item(TableName="bench-metrics", Item={
                "metricId": {"S": f"app#m{i % 20}"}, "timestamp": {"N": str(old + i)},
                "value": {"N": str(i)}, "receivedAt": {"N": str(old + i)}})
        ddb.update_continuous_backups(
            TableName="bench-metrics",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        # moto reports "now" as the latest restorable time; AWS documents ~5 minutes of lag:
        # set moto's window to that, so the drill's choice of recovery point is AWS's
        pitr = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["bench-metrics"] \
            .continuous_backups["PointInTimeRecoveryDescription"]
        pitr["LatestRestorableDateTime"] = time.time() - 300
        pitr["EarliestRestorableDateTime"] = time.time() - 35 * 86_400
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                 secrets={})
        rep = AwsDrill(clients=AwsClients(settings, QueryCache()),
                       table="bench-metrics").drill(lookback_s=300, sample=25)
    print(render(rep))
    print(f"aws drill on moto: achieved RPO {rep.achieved_rpo_s:.0f} s (PITR's documented lag, "
          f"emulated), {rep.restored_count:,} items, {rep.duration_s:.2f} s (moto restores "
          "instantly; AWS's restore time is in docs/dr.md)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline")
    parser.add_argument("--days", type=int, default=365, help="backfill length (default 365)")
    parser.add_argument("--fresh", action="store_true", help="a new store in a temp folder")
    args = parser.parse_args()
    data_dir = (Path(tempfile.mkdtemp(prefix="bench-pipeline-")) if args.fresh
                else ROOT / "bench" / "out" / f"pipeline-{args.days}d")
    rt, fill_s = runtime(args.days, data_dir)
    try:
        assert rt.local is not None
        print(f"local store: {args.days + 1} days of simulated history for "
              f"{len(rt.catalog.apps)} apps, {rt.local.store.sample_count():,} raw samples "
              f"(filled or topped up in {fill_s:.0f} s)")
        run_figures(rt, args.days)
        report_figures(rt)
        drill_figures(rt, data_dir)
    finally:
        rt.stop()
    moto_drill_figures()


if __name__ == "__main__":
    main()
