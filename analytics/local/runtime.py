"""Start-up of the embedded backend: fill the history gap, keep data flowing, serve ingest.

The simulator's watermark is committed with the samples it covers, so a restart fills exactly
the gap since the last run — no duplicates, no holes — and 14 days of history on first start.
Each fill step also brings the simulated cost line items up to date; then the business-metric
history, the local ingest endpoint and the live feeder start (:mod:`analytics.local.live_services`),
and, on a live store, the periodic jobs: a backup copy every 6 hours and whatever the composition
root schedules (the daily pipeline run).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from analytics.core.catalog import Catalog
from analytics.core.clock import Clock, system_clock
from analytics.core.settings import Settings
from analytics.local import live_services
from analytics.local.backup import backup_due, take_backup
from analytics.local.sim_costs import make_hook
from analytics.local.simulator import DAY_MS, Simulator
from analytics.local.store import LocalStore

log = logging.getLogger(__name__)
WATERMARK = "simulator_watermark_ms"
SEED_KEY = "simulator_seed"
#: Extra work run after every fill step with the (t0_ms, t1_ms] just written (cost items).
TickHook = Callable[[LocalStore, int, int], None]


def now_ms(clock: Clock = system_clock) -> int:
    return int(clock() * 1000)


def fill(store: LocalStore, sim: Simulator, *, until_ms: int, history_days: int,
         hooks: list[TickHook] | None = None) -> int:
    """Write every sample that became available since the watermark; return rows written."""
    stored_seed = store.get_meta(SEED_KEY)
    if stored_seed is not None and int(stored_seed) != sim.seed:
        log.warning("store was filled with seed %s, simulator now uses %s", stored_seed, sim.seed)
    raw = store.get_meta(WATERMARK)
    oldest = until_ms - history_days * DAY_MS
    since = oldest if raw is None else max(int(raw), oldest)
    if until_ms <= since:
        return 0
    written = 0
    # Day-sized steps keep memory flat on a first start with 14 days to write.
    t0 = since
    while t0 < until_ms:
        t1 = min(until_ms, t0 + DAY_MS)
        frame = sim.available_between(t0, t1)
        written += store.insert_samples(
            frame[["namespace", "metric_name", "dims", "ts_ms", "value"]],
            meta={WATERMARK: str(t1), SEED_KEY: str(sim.seed)},
        )
        for hook in hooks or []:
            hook(store, t0, t1)
        t0 = t1
    return written


class LiveFeeder:
    """Background thread that tops the store up every ``tick_s`` seconds."""

    def __init__(self, store: LocalStore, sim: Simulator, *, history_days: int, tick_s: float,
                 hooks: list[TickHook] | None = None, clock: Clock = system_clock) -> None:
        self.store, self.sim, self.clock = store, sim, clock
        self.history_days, self.tick_s = history_days, tick_s
        self.hooks = hooks or []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                fill(self.store, self.sim, until_ms=now_ms(self.clock),
                     history_days=self.history_days, hooks=self.hooks)
            except Exception:
                log.exception("simulator tick failed; retrying next tick")


class Periodic:
    """A daemon thread calling ``job`` after ``first_s`` and then every ``every_s`` seconds.

    A failing job is logged and tried again at the next tick: a periodic job must never take
    the dashboard down.
    """

    def __init__(self, name: str, job: Callable[[], object], *, every_s: float,
                 first_s: float = 0.0) -> None:
        self.name, self.job, self.every_s, self.first_s = name, job, every_s, first_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        wait = self.first_s
        while not self._stop.wait(wait):
            try:
                self.job()
            except Exception:
                log.exception("periodic job %s failed; retrying next tick", self.name)
            wait = self.every_s


class LocalRuntime:
    """Everything the local backend runs in-process: store, simulator, feeders, ingest twin."""

    def __init__(self, catalog: Catalog, store: LocalStore, *, settings: Settings,
                 clock: Clock = system_clock) -> None:
        self.catalog, self.store, self.clock = catalog, store, clock
        self.sim = Simulator(catalog, settings.simulator_seed)
        self.history_days = settings.history_days
        self.hooks: list[TickHook] = [make_hook(catalog, seed=settings.simulator_seed,
                                                clock_ms=lambda: now_ms(clock))]
        started = time.perf_counter()
        rows = fill(store, self.sim, until_ms=now_ms(clock), history_days=self.history_days,
                    hooks=self.hooks)
        log.info("local store %s: wrote %d samples in %.1f s", store.path, rows,
                 time.perf_counter() - started)
        self.feeder: LiveFeeder | None = None
        if settings.simulator_live:
            self.feeder = LiveFeeder(store, self.sim, history_days=self.history_days,
                                     tick_s=settings.simulator_tick_s, hooks=self.hooks,
                                     clock=clock)
            self.feeder.start()
        self.services: list[live_services.Stoppable] = live_services.start(
            catalog, settings, store, clock=clock)
        self.settings = settings
        self.jobs: list[Periodic] = []
        if settings.local_schedule and settings.backup_interval_h > 0:
            # checked every 10 minutes, taken when the newest copy is older than the interval
            self.schedule("backup", self.backup_if_due, every_s=600.0)

    def schedule(self, name: str, job: Callable[[], object], *, every_s: float,
                 first_s: float = 0.0) -> None:
        """Run ``job`` periodically in this process until :meth:`stop`."""
        self.jobs.append(Periodic(name, job, every_s=every_s, first_s=first_s).start())

    def backup_if_due(self, now: int | None = None, *, force: bool = False) -> bool:
        """Take a backup copy when the newest is older than the interval (or ``force``);
        True if one was taken."""
        at = now_ms(self.clock) if now is None else now
        directory = self.settings.backup_dir
        interval_s = self.settings.backup_interval_h * 3600
        if not force and not backup_due(directory, now_ms=at, interval_s=interval_s):
            return False
        taken = take_backup(self.store, directory, now_ms=at, keep=self.settings.backup_keep)
        log.info("local store backed up to %s (%d bytes)", taken.path, taken.size)
        return True

    def stop(self) -> None:
        for job in self.jobs:
            job.stop()
        for service in self.services:
            service.stop()
        if self.feeder:
            self.feeder.stop()
