"""What pages, CLIs, Lambda handlers and the local schedule call: runs, backfills, packs.

The local dashboard runs the pipeline itself once a day (:func:`catch_up`): every finished day
the store still has and no rollup covers yet, yesterday's run (with the monthly pack on the
1st) and, on Mondays, last week's re-run with the weekly pack — the same plan the aws schedules
follow. Runs are idempotent, so a restart that repeats a day only replaces its rollups.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from analytics.core import access
from analytics.core.cache import Cached
from analytics.core.runtime import HasBackend, RuntimeOf
from analytics.costs.queries import is_admin
from analytics.pipeline.local import new_run_id
from analytics.pipeline.model import (
    PipelineError,
    RunRecord,
    RunRequest,
    backfill_request,
    day_request,
    week_request,
)
from analytics.pipeline.source import HasPipelineRunner, StoredReport
from analytics.pipeline.steps import PipelineSources, run
from analytics.reports.cost_review import week_label

log = logging.getLogger(__name__)
REPORTS_PREFIX = "reports/"
RUNS_TTL_S = 10.0


class PipelineServiceSources(PipelineSources, HasPipelineRunner, HasBackend, Protocol):
    """Everything the pipeline's service reaches."""


PipelineServiceRuntime = RuntimeOf[PipelineServiceSources]


def execute(rt: PipelineServiceRuntime, request: RunRequest, *, today: date,
            trigger: str = "cli", run_id: str | None = None,
            clock: Callable[[], float] = time.time) -> RunRecord:
    """Run ``request`` here and now (CLI, the local schedule, a local backfill)."""
    record = run(rt, request, today=today, run_id=run_id or new_run_id(), trigger=trigger,
                 clock=clock)
    rt.cache.invalidate("rollups")  # the long views show the new days at once
    log.info("pipeline %s %s: %s %s", request.mode, request.label, record.status,
             dict(record.counts))
    return record


def recent_runs(rt: PipelineServiceRuntime, *, limit: int = 20) -> Cached[list[RunRecord]]:
    _require_admin()
    return rt.cache.get("pipeline_runs", limit, lambda: rt.sources.rollups.list_runs(limit=limit),
                        ttl=RUNS_TTL_S)


def _require_admin() -> None:
    p = access.current_principal()
    if p is not None and p.role != "admin":
        raise access.AccessDenied("the pipeline is shown to admins only")


def _require_full_admin() -> None:
    if not is_admin():
        raise access.AccessDenied("the delivered packs hold every app: admins of every app only")


def request_backfill(rt: PipelineServiceRuntime, first: date, last: date, *,
                     today: date) -> list[str]:
    """Start a backfill of ``first..last`` where this backend runs the pipeline; one run per
    31-day chunk, so each stays within a Lambda's 15 minutes. Returns the runs' ids."""
    _require_admin()
    request = backfill_request(first, last, today=today)
    return [rt.sources.pipeline_runner.start(chunk, trigger="dashboard")
            for chunk in request.chunks()]


@dataclass(frozen=True)
class DeliveredReport:
    key: str
    kind: str  # "weekly" | "monthly"
    label: str  # "2026-W47" | "2026-10"
    fmt: str  # "html" | "md"
    size: int
    modified_ms: int


def delivered_reports(rt: PipelineServiceRuntime) -> list[DeliveredReport]:
    """The packs the pipeline delivered, newest first — for admins of every app only: a pack
    holds every app and the untagged spend (it is built with no signed-in user)."""
    _require_full_admin()
    listed = rt.cache.get("reports", REPORTS_PREFIX,
                          lambda: rt.sources.reports.list(REPORTS_PREFIX), ttl=60.0).value
    return [_delivered(r) for r in listed if r.key.endswith((".html", ".md"))]


def _delivered(r: StoredReport) -> DeliveredReport:
    parts = r.key.split("/")
    name = parts[-1].removeprefix("cost-review-")
    label, _, fmt = name.rpartition(".")
    return DeliveredReport(r.key, parts[1] if len(parts) > 2 else "", label, fmt, r.size,
                           r.modified_ms)


def report_bytes(rt: PipelineServiceRuntime, key: str) -> bytes:
    _require_full_admin()
    if not key.startswith(REPORTS_PREFIX):
        raise PipelineError(f"{key!r} is not a delivered report")
    return rt.sources.reports.get(key)


def due_requests(rt: PipelineServiceRuntime, *, today: date, history_days: int) -> list[RunRequest]:
    """What :func:`catch_up` runs today: the days not rolled up yet (oldest first, no packs),
    yesterday (and its monthly pack), and last week with its pack when today is a Monday."""
    ids = list(rt.catalog.ids())
    first = today - timedelta(days=history_days)
    yesterday = today - timedelta(days=1)
    have = {(r.app, r.day) for r in rt.sources.rollups.get_rollups(ids, start=first,
                                                                    end=yesterday)}
    missing = [d for d in (first + timedelta(days=i) for i in range((yesterday - first).days))
               if any((a, d) not in have for a in ids)]
    out: list[RunRequest] = []
    if missing:
        out.append(backfill_request(missing[0], missing[-1], today=today))
    out.append(day_request(yesterday, today=today))
    if today.weekday() == 0:
        out.append(week_request(week_label(today - timedelta(days=7)), today=today))
    return out


CATCH_UP_KEY = "pipeline_catch_up_day"


def catch_up(rt: PipelineServiceRuntime, *, today: date, history_days: int,
             done_on: Callable[[], str | None],
             mark_done: Callable[[str], None]) -> list[RunRecord]:
    """Run :func:`due_requests` once per UTC day (``done_on``/``mark_done`` remember it)."""
    if done_on() == today.isoformat():
        return []
    records = [execute(rt, r, today=today, trigger="schedule")
               for r in due_requests(rt, today=today, history_days=history_days)]
    if all(r.status == "succeeded" for r in records):
        mark_done(today.isoformat())
    return records
