"""``python -m analytics.cli.report --week 2026-W47 [--out DIR]``: write the cost-review pack.

Run from a shell there is no signed-in user, so the pack holds every app and the untagged
spend (see :mod:`analytics.reports.cost_review`). Without ``--week`` it is the week of the day a
week before the runtime's "now" (its clock, as every other layer's "now").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from analytics.core.cache import UpstreamError
from analytics.costs.frames import DEFAULT_METRIC, METRICS
from analytics.costs.queries import as_day
from analytics.reports.cost_review import ReportError, week_label, write_report
from analytics.sources import get_runtime


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.cli.report",
                                     description="Write the weekly cost-review pack.")
    parser.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: last week)")
    parser.add_argument("--out", default=".", help="output folder (default: current)")
    parser.add_argument("--metric", default=DEFAULT_METRIC, choices=list(METRICS))
    args = parser.parse_args(argv)
    try:
        rt = get_runtime()
    except ValueError as exc:  # CatalogError / SettingsError
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        week = args.week or week_label(as_day(rt.now()) - timedelta(days=7))
        paths = write_report(rt, week, out_dir=args.out, metric=args.metric)
    except (ReportError, UpstreamError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        rt.stop()
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
