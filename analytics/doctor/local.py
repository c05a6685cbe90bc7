"""The doctor on the local backend: the embedded store, the local ingest endpoint, the catalog.

No AWS here; what can go wrong locally is a store that holds nothing (or nothing recent, when
the simulator should be ticking), an ingest endpoint that is down or answers without asking for
its token, and a catalog whose alarm rules do not parse. The endpoint is probed over HTTP, like
a client would, with a short timeout.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

from analytics.alarms.config import AlarmConfigError, parse_alarms
from analytics.core.catalog import Catalog
from analytics.core.fmt import age
from analytics.core.settings import Settings
from analytics.doctor.checks import Check, failed, passed, warned
from analytics.local.store import LocalStore

#: Older than this while the simulator is live, the newest sample says the feeder is stuck.
STALE_AFTER_S = 300.0
HTTP_TIMEOUT_S = 2.0

#: ``(method, url) -> HTTP status`` (0: no answer); injectable for tests.
Probe = Callable[[str, str], int]


def http_status(method: str, url: str) -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


class LocalDoctor:
    """``store=None`` when the store could not be opened (``store_error``: why, and the fix):
    a running dashboard holds DuckDB's one write lock, so a shell's doctor checks the rest."""

    def __init__(self, *, store: LocalStore | None, settings: Settings,
                 clock: Callable[[], float] = time.time, probe: Probe = http_status,
                 store_error: tuple[str, str] = ("", "")) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.probe = probe
        self.store_error = store_error
        self.where = f"embedded DuckDB at {store.path if store else settings.duckdb_path}"

    def checks(self, catalog: Catalog) -> list[Check]:
        return [*self._store(), *self._ingest(), *self._catalog(catalog)]

    def _store(self) -> Iterator[Check]:
        if self.store is None:
            found, fix = self.store_error
            yield warned("Local store", f"not opened: {found}", fix)
            return
        samples = self.store.sample_count()
        if not samples:
            yield failed("Local store", f"no samples in {self.store.path}",
                         "start the dashboard once (make run) to fill the simulated history")
            return
        row = self.store.cursor().execute("SELECT max(ts_ms) FROM samples").fetchone()
        newest = float(row[0]) / 1000 if row and row[0] is not None else 0.0
        lag = self.clock() - newest
        found = f"{samples:,} samples, newest {age(max(lag, 0.0))} old"
        if self.settings.simulator_live and lag > STALE_AFTER_S:
            yield warned("Local store", found, "the simulator is live but no recent sample "
                         "arrived: restart the dashboard")
        else:
            yield passed("Local store", found)
        custom = self.store.count_rows("custom_metrics")
        yield passed("Custom metrics", f"{custom:,} points stored by the local ingest endpoint")

    def _ingest(self) -> Iterator[Check]:
        name = "Local ingest endpoint"
        base = f"http://127.0.0.1:{self.settings.ingest_port}"
        if not self.settings.ingest_enabled:
            yield warned(name, "disabled (INGEST_ENABLED=false): custom metrics cannot be sent",
                         "set INGEST_ENABLED=true to accept POST /metrics")
            return
        health = self.probe("GET", f"{base}/health")
        if health != 200:
            yield failed(name, f"{base}/health answered {health or 'nothing'}",
                         "start the dashboard (make run) or free INGEST_PORT "
                         f"{self.settings.ingest_port}")
            return
        unauthenticated = self.probe("POST", f"{base}/metrics")
        yield (passed(name, f"{base} is up and refuses a request without the token (401)")
               if unauthenticated == 401 else
               failed(name, f"{base}/metrics answered {unauthenticated} without a token",
                      "the endpoint must demand the bearer token: check INGEST_TOKEN"))

    def _catalog(self, catalog: Catalog) -> Iterator[Check]:
        yield passed("Catalog", f"{len(catalog.apps)} apps in {catalog.path}: "
                                f"{', '.join(a.id for a in catalog.apps)}")
        for app in catalog.apps:
            try:
                rules = parse_alarms(app, catalog.path).rules
            except AlarmConfigError as exc:
                yield failed(f"{app.id}: alarm rules", str(exc), "correct apps.toml")
                continue
            if app.resources.empty:
                yield warned(f"{app.id}: resources", "none listed: the local backend "
                             "simulates nothing for this app",
                             f"list them under [apps.{app.id}.resources] in apps.toml")
            else:
                r = app.resources
                yield passed(f"{app.id}: resources", f"{len(r.apis)} APIs, {len(r.lambdas)} "
                             f"functions, {len(r.dynamodb_tables)} tables, {len(r.rds_instances)} "
                             f"DB instances, {len(r.s3_buckets)} buckets; {len(rules)} alarm rules")
