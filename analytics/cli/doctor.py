"""``python -m analytics.doctor``: check this deployment, one row per check, and exit 0 only when
nothing is ✗ — the first thing to run after ``cdk deploy`` (docs/deploy.md says what each ✗
means).

On aws it checks the account the configured credentials reach (run it as the dashboard's task
role to check *its* permissions: the admin Setup page does). On the local backend it checks the
store, the ingest endpoint and the catalog without starting a simulator or an endpoint of its
own; a running dashboard holds the store's lock, so then the store is checked on its Setup page.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import duckdb

from analytics.core.cache import QueryCache
from analytics.core.catalog import CatalogError, load_catalog
from analytics.core.clock import Clock, system_clock
from analytics.core.settings import Settings, SettingsError, load_settings
from analytics.doctor.checks import Report, warned
from analytics.doctor.local import LocalDoctor
from analytics.doctor.service import run_doctor
from analytics.local.store import LocalStore
from analytics.sources import Runtime, build_runtime, local_sources


def report_for(settings: Settings, *, clock: Clock = system_clock) -> Report:
    """Run every check of the configured backend; ``clock`` is the checks' "now"."""
    catalog = load_catalog(settings.catalog_path)
    if settings.backend == "aws":
        return run_doctor(build_runtime(settings, cache=QueryCache(clock=clock), catalog=catalog,
                                        clock=clock))
    path = settings.duckdb_path
    error = ("", "") if path.exists() else (f"no store at {path} yet",
                                            "start the dashboard once (make run) to fill it")
    store: LocalStore | None = None
    if path.exists():
        try:
            store = LocalStore(path)
        except duckdb.IOException:
            error = (f"{path} is in use by a running dashboard (DuckDB allows one writer)",
                     "open its Setup page (admins), which runs these checks inside it")
    if store is None:
        doctor = LocalDoctor(store=None, settings=settings, store_error=error)
        skipped = warned("Alarms", "not evaluated without the store")
        return Report("local", doctor.where, (*doctor.checks(catalog), skipped))
    try:
        rt = Runtime(settings, catalog, local_sources(store=store, settings=settings, clock=clock),
                     QueryCache(clock=clock), clock=clock)
        return run_doctor(rt)
    finally:
        store.close()


def main(argv: Sequence[str] | None = None, *, clock: Clock = system_clock) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analytics.doctor",
        description="Check that this deployment gives the dashboard right numbers: "
                    "permissions, resources, log formats, cost tags, alarms.")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    try:
        report = report_for(load_settings(), clock=clock)
    except (SettingsError, CatalogError) as exc:
        print(f"Configuration error — {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"backend": report.backend, "where": report.where,
                          "exit": report.exit_code,
                          "checks": report.frame().to_dict("records")}, ensure_ascii=False))
    else:
        for line in report.lines():
            print(line)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
