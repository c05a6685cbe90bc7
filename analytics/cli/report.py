"""``python -m analytics.cli.report --week 2026-W47 [--out DIR]``: write the cost-review pack.

Run from a shell there is no signed-in user, so the pack holds every app and the untagged
spend (see :mod:`analytics.reports.cost_review`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from analytics.core.cache import UpstreamError
from analytics.costs.frames import DEFAULT_METRIC, METRICS
from analytics.reports.cost_review import ReportError, week_label, write_report
from analytics.sources import get_runtime


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.cli.report",
                                     description="Write the weekly cost-review pack.")
    default = week_label(datetime.now(UTC).date() - timedelta(days=7))
    parser.add_argument("--week", default=default, help=f"ISO week, e.g. {default}")
    parser.add_argument("--out", default=".", help="output folder (default: current)")
    parser.add_argument("--metric", default=DEFAULT_METRIC, choices=list(METRICS))
    args = parser.parse_args(argv)
    try:
        rt = get_runtime()
    except ValueError as exc:  # CatalogError / SettingsError
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        paths = write_report(rt, args.week, out_dir=args.out, metric=args.metric)
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
