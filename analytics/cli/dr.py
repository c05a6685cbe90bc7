"""``python -m analytics.dr drill | backup | backups``: the disaster-recovery drill and the local
backup copies.

``drill`` restores a copy (aws: the metrics table to a point a few minutes back, into a new
table; local: the store's newest backup, into a new file), compares it with the source, prints
the achieved recovery point and every step's time, and deletes the copy. It never touches the
source. Exit code 0 only when the drill passed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from analytics.cli.pipeline import cli_runtime
from analytics.dr.model import DrillError, render
from analytics.dr.service import run_drill
from analytics.local.backup import list_backups


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.dr",
                                     description="Disaster-recovery drill and local backups.")
    sub = parser.add_subparsers(dest="command", required=True)
    drill = sub.add_parser("drill", help="restore a copy, compare it, delete it")
    drill.add_argument("--lookback", type=int, default=300,
                       help="aws: restore to this many seconds ago (default 300)")
    drill.add_argument("--sample", type=int, default=25, help="items compared (default 25)")
    sub.add_parser("backup", help="local: take a backup copy of the store now")
    sub.add_parser("backups", help="local: list the backup copies")
    args = parser.parse_args(argv)
    try:
        rt = cli_runtime()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "drill":
            report = run_drill(rt, lookback_s=args.lookback, sample=args.sample)
            print(render(report))
            return 0 if report.passed else 1
        if rt.local is None:
            print("backup copies are the local backend's; on aws, AWS Backup takes them "
                  "(see docs/dr.md)", file=sys.stderr)
            return 2
        if args.command == "backup":
            rt.local.backup_if_due(force=True)
        for b in list_backups(rt.settings.backup_dir):
            print(f"{datetime.fromtimestamp(b.taken_ms / 1000, UTC):%Y-%m-%d %H:%M:%S} UTC  "
                  f"{b.size:>12,} bytes  {b.path}")
        return 0
    except (DrillError, ValueError, ClientError, BotoCoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        rt.stop()


if __name__ == "__main__":
    raise SystemExit(main())
