"""``python -m analytics.cli.tokens list | rotate <app>``: the local ingest endpoint's tokens.

A token is printed once, when made; the data dir keeps only its hash, so a lost token is
replaced (``rotate``), never recovered. The running endpoint sees a rotation at its next request.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from analytics.core.catalog import CatalogError, load_catalog
from analytics.core.settings import SettingsError, load_settings
from analytics.local.ingest_tokens import TokenFileError, token_book


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.cli.tokens",
                                     description="Per-app tokens of the local ingest endpoint.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="apps and when their token was made (never the tokens)")
    rotate = sub.add_parser("rotate", help="make a new token for an app (printed once)")
    rotate.add_argument("app")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        catalog = load_catalog(settings.catalog_path)
        book = token_book(settings.data_dir)
        if args.command == "list":
            made = {t.app: t.created for t in book.listing()}
            for app in catalog.ids():
                when = (datetime.fromtimestamp(made[app], UTC).strftime("%Y-%m-%d %H:%M UTC")
                        if app in made else "no token yet (made at the next start)")
                print(f"{app}: {when}")
            return 0
        if args.app not in catalog.ids():
            print(f"unknown app {args.app!r}; the catalog has {', '.join(catalog.ids())}",
                  file=sys.stderr)
            return 2
        token = book.rotate(args.app)
    except (SettingsError, CatalogError, TokenFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"New ingest token for {args.app} (shown once; the old one no longer works):",
          file=sys.stderr)
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
