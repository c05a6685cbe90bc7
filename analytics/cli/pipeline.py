"""``python -m analytics.pipeline run [--date D | --week W | --backfill FROM TO]`` and ``runs``.

Runs the pipeline in this process on the configured backend (the same steps the Lambda handlers
run on aws). With the local backend it opens the DuckDB store itself, so stop the dashboard
first (DuckDB lets one process write a file) or use the Pipeline page's backfill button.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from analytics.core.cache import UpstreamError
from analytics.core.clock import Clock, system_clock
from analytics.core.settings import Settings, load_settings
from analytics.pipeline.model import PipelineError, RunRecord, parse_event
from analytics.pipeline.service import execute
from analytics.sources import Runtime, build_runtime


def cli_runtime(settings: Settings | None = None, *, clock: Clock = system_clock) -> Runtime:
    """A runtime for a one-shot command: no live simulator, ingest endpoint or schedule."""
    s = settings or load_settings()
    return build_runtime(s.model_copy(update={
        "simulator_live": False, "ingest_enabled": False, "local_schedule": False}), clock=clock)


def describe(record: RunRecord) -> str:
    order = ("fetch", "aggregate", "report", "store")
    took = ", ".join(f"{k} {record.durations_s[k]:.2f} s" for k in order
                     if k in record.durations_s)
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(record.counts.items()))
    lines = [f"run {record.run_id} ({record.request.mode} {record.request.label}): "
             f"{record.status}", f"  counts: {counts or '-'}", f"  steps: {took or '-'}"]
    lines += [f"  report: {r}" for r in record.reports]
    if record.error:
        lines.append(f"  error: {record.error}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, clock: Clock = system_clock) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.pipeline",
                                     description="Roll up days, build the packs, list runs.")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the pipeline now (default: yesterday)")
    which = run_p.add_mutually_exclusive_group()
    which.add_argument("--date", help="one day, YYYY-MM-DD (the month's pack if it ends one)")
    which.add_argument("--week", help="an ISO week, e.g. 2026-W47 (re-rolled, with its pack)")
    which.add_argument("--backfill", nargs=2, metavar=("FROM", "TO"),
                       help="days FROM..TO inclusive, rollups only")
    runs_p = sub.add_parser("runs", help="list the latest runs")
    runs_p.add_argument("--limit", type=int, default=10)
    args = parser.parse_args(argv)
    try:
        rt = cli_runtime(clock=clock)
    except ValueError as exc:  # CatalogError / SettingsError
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "runs":
            for record in rt.sources.rollups.list_runs(limit=args.limit):
                print(describe(record))
            return 0
        today = rt.now().date()  # the runtime's clock: the wall clock from a shell
        event: dict[str, str] = {"mode": "day"}
        if args.date:
            event["date"] = args.date
        elif args.week:
            event = {"mode": "week", "week": args.week}
        elif args.backfill:
            event = {"mode": "backfill", "from": args.backfill[0], "to": args.backfill[1]}
        record = execute(rt, parse_event(event, today=today), today=today, trigger="cli")
        print(describe(record))
        return 0 if record.status == "succeeded" else 1
    except (PipelineError, UpstreamError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        rt.stop()


if __name__ == "__main__":
    raise SystemExit(main())
