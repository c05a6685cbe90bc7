"""Lambda handlers of the Step Functions state machine: FetchData, AggregateMetrics,
GenerateReports, StoreResults, RecordFailure.

Each handler is a thin shell around a step of :mod:`analytics.pipeline.steps`, over the aws
runtime built once per container. A task's payload is ``{"event": <state>, "run_id":
<execution name>}``; results travel through the reports bucket's ``staging/`` (a state's
payload is capped at 256 KB). A handler raises on failure: the state machine retries it with
backoff, then its Catch records the failed run and alerts the alarm topic.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from analytics.core.settings import load_settings
from analytics.pipeline import staging
from analytics.pipeline.model import RunRecord, RunRequest, parse_event
from analytics.pipeline.steps import aggregate as aggregate_step
from analytics.pipeline.steps import fetch as fetch_step
from analytics.pipeline.steps import report as report_step
from analytics.sources import Runtime, build_runtime

_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The aws runtime of this container (the settings come from the function's environment)."""
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(load_settings(secrets={}))
    return _runtime


def _today() -> datetime:
    return datetime.now(UTC)


def _ms() -> int:
    return int(time.time() * 1000)


def fetch(payload: Mapping[str, Any], _context: object = None) -> dict[str, Any]:
    """FetchData: resolve the request (defaults: yesterday, last week), fetch, stage."""
    rt, run_id = runtime(), str(payload["run_id"])
    event = dict(payload.get("event") or {})
    started, t0 = _ms(), time.perf_counter()
    request = parse_event(event, today=_today().date())
    fetched = fetch_step(rt, request, today=_today().date())
    key = staging.stage(rt.sources.reports, run_id, "fetched", staging.dump_fetched(fetched))
    return {"run_id": run_id, "trigger": str(event.get("trigger", "schedule")),
            "request": request.to_dict(), "started_ms": started, "fetched_key": key,
            "counts": {"metric_rows": len(fetched.metrics), "cost_rows": len(fetched.costs),
                       "custom_rows": len(fetched.custom), "days": len(request.days)},
            "durations_s": {"fetch": round(time.perf_counter() - t0, 3)}}


def aggregate(payload: Mapping[str, Any], _context: object = None) -> dict[str, Any]:
    """AggregateMetrics: staged fetch -> one rollup per app and day, staged."""
    rt, state = runtime(), payload["event"]
    t0 = time.perf_counter()
    fetched = staging.load_fetched(rt.sources.reports.get(state["fetched_key"]))
    rollups = aggregate_step(fetched, app_ids=list(rt.catalog.ids()), computed_ms=_ms())
    key = staging.stage(rt.sources.reports, state["run_id"], "rollups",
                        staging.dump_rollups(rollups))
    return {"rollups_key": key, "rollups": len(rollups),
            "seconds": round(time.perf_counter() - t0, 3)}


def report(payload: Mapping[str, Any], _context: object = None) -> dict[str, Any]:
    """GenerateReports: the request's packs to the bucket, their summary to the topic."""
    rt, state = runtime(), payload["event"]
    t0 = time.perf_counter()
    request = RunRequest.from_dict(state["request"])
    delivered = report_step(rt, request.reports, today=_today().date(),
                            link_ttl_s=rt.settings.report_link_ttl_s)
    return {"reports": delivered, "seconds": round(time.perf_counter() - t0, 3)}


def store(payload: Mapping[str, Any], _context: object = None) -> dict[str, Any]:
    """StoreResults: put the staged rollups (replacing), record the run, drop the staging."""
    rt, state = runtime(), payload["event"]
    t0 = time.perf_counter()
    aggregated, reported = state["results"]
    reports = rt.sources.reports
    written = rt.sources.rollups.put_rollups(
        staging.load_rollups(reports.get(aggregated["rollups_key"])))
    for key in (state["fetched_key"], aggregated["rollups_key"]):
        reports.delete(key)
    counts = {**state["counts"], "rollups": written, "reports": len(reported["reports"]),
              "apps": len(rt.catalog.ids())}
    durations = {**state["durations_s"], "aggregate": aggregated["seconds"],
                 "report": reported["seconds"], "store": round(time.perf_counter() - t0, 3)}
    record = RunRecord(state["run_id"], RunRequest.from_dict(state["request"]), "running",
                       int(state["started_ms"]), state["trigger"]).finished(
        "succeeded", at_ms=_ms(), counts=counts, durations_s=durations,
        reports=tuple(reported["reports"]))
    rt.sources.rollups.put_run(record)
    return {"run_id": record.run_id, "status": record.status, "counts": counts}


def record_failure(payload: Mapping[str, Any], _context: object = None) -> dict[str, Any]:
    """RecordFailure (the Catch): a failed run record with the error, so the Pipeline page
    shows it; the state machine then alerts the alarm topic and fails the execution."""
    rt, state = runtime(), payload["event"]
    error = state.get("error") or {}
    try:
        request = (RunRequest.from_dict(state["request"]) if "request" in state
                   else parse_event(state, today=_today().date()))
    except ValueError:
        request = RunRequest("day", _today().date(), _today().date())
    record = RunRecord(str(payload["run_id"]), request, "running",
                       int(state.get("started_ms", _ms())),
                       str(state.get("trigger", "schedule"))).finished(
        "failed", at_ms=_ms(), error=f"{error.get('Error', 'Error')}: {error.get('Cause', '')}"
                                     [:2000])
    rt.sources.rollups.put_run(record)
    return {"run_id": record.run_id, "status": record.status}
