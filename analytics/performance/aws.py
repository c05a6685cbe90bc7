"""Lambda cold starts from CloudWatch Logs Insights, and resources found by tag.

Cold starts: a Lambda REPORT carries an init duration only on a cold start, so one Logs Insights
query per function counts invocations and cold starts and takes the init-duration percentiles.
Which log group and which query come from the function's configuration (GetFunctionConfiguration:
log format, custom log group, SnapStart; see :mod:`analytics.performance.insights`). Logs
Insights is asynchronous: StartQuery, then GetQueryResults until ``Complete``. Polling backs off
(0.5 s doubling to 2 s) and gives up after a bounded time (``LOGS_QUERY_TIMEOUT_S``, 20 s by
default) with a message saying so, and StopQuery is called so an abandoned query stops scanning
(and billing) — a page must not hang on a slow log group. A log group the role may not query
is a note on its row, never an empty "0 cold starts".

Discovery: ``tag:GetResources`` (paginated) for ``Application=<cost_tag>`` over every API
Gateway resource type (stages carry the tags SAM and CloudFormation set); ARNs are mapped to
CloudWatch dimension values by :mod:`analytics.performance.discovery`; API Gateway names and
stages, which REST API metrics are keyed by, are looked up by id — a denied lookup fails the
discovery with its reason instead of leaving a chart keyed by the id, which is always empty.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from analytics.core.aws_clients import AwsClients
from analytics.core.catalog import Api, App, Resources
from analytics.core.periods import as_utc
from analytics.core.permissions import DENIED_CODES
from analytics.performance.coldstarts import frame, row
from analytics.performance.discovery import RESOURCE_TYPES, TAG_KEY, ApiRef, classify
from analytics.performance.insights import (
    LogSetup,
    cold_start_query,
    default_log_group,
    default_setup,
    setup_from_configuration,
)

#: The query over plain-text REPORT lines (Lambda's default log format).
COLD_START_QUERY = cold_start_query()
#: Error codes meaning "the caller may not": surfaced, never read as "no data".
DENIED = DENIED_CODES
DEFAULT_LOGS_TIMEOUT_S = 20.0
TIMEOUT_SETTING = "LOGS_QUERY_TIMEOUT_S"
_DONE_BAD = ("Failed", "Cancelled", "Timeout", "Unknown")


class LogsQueryError(RuntimeError):
    """A Logs Insights query failed, was cancelled or could not start."""


class LogsQueryTimeout(LogsQueryError):
    """A Logs Insights query did not complete in time (it was stopped)."""


def log_group(function: str) -> str:
    return default_log_group(function)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class DiscoveryDenied(RuntimeError):
    """A lookup the discovery needs was refused: the message names the action to grant."""


def parse_cold_start_results(function: str, results: list[list[dict[str, str]]], *,
                             setup: LogSetup | None = None) -> dict[str, object]:
    """One table row from GetQueryResults' ``results`` (one row for a stats-only query)."""
    kind = setup.kind if setup else ""
    note = setup.note if setup else ""
    if setup is not None and setup.reports_dropped:
        note = (f"system log level {setup.system_log_level} drops the platform.report "
                "records cold starts are counted from; set it to INFO")
    if not results:
        return row(function, 0, 0, note=note, log_source=kind)
    fields = {f["field"]: f.get("value") for f in results[0]}

    def num(name: str) -> float | None:
        raw = fields.get(name)
        try:
            return float(raw) if raw else None  # absent or "": no value
        except ValueError:
            return None

    cold, p50, p95 = num("coldStarts"), num("initP50"), num("initP95")
    restores = num("restores")
    if restores:  # SnapStart: a restore is the cold start; its duration is the start-up time
        cold = (cold or 0) + restores
        p50, p95 = num("restoreP50"), num("restoreP95")
    return row(function, num("invocations"), cold, p50=p50, p95=p95, note=note, log_source=kind)


class AwsPerformance:
    """Cold starts and discovery; time and sleep are injected so tests never wait."""

    cold_start_origin = ("CloudWatch Logs Insights over each function's log group (REPORT lines "
                         "or JSON platform.report records, as its logging config says)")

    def __init__(self, *, clients: AwsClients, logs_timeout_s: float = DEFAULT_LOGS_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_concurrent: int = 10,
                 first_poll_s: float = 0.5, max_poll_s: float = 2.0,
                 discovery_page_size: int = 100,
                 log_setup: Callable[[str], LogSetup] | None = None) -> None:
        self.clients = clients
        #: Where and how a function logs (default: read from its configuration).
        self.log_setup = log_setup or self.read_log_setup
        self.logs_timeout_s = logs_timeout_s
        self.clock, self.sleep = clock, sleep
        #: Log groups queried at once (Logs Insights allows a few dozen concurrent queries).
        self.max_concurrent = max_concurrent
        self.first_poll_s, self.max_poll_s = first_poll_s, max_poll_s
        self.discovery_page_size = discovery_page_size

    # -- cold starts -------------------------------------------------------------------------
    def cold_starts(self, functions: Sequence[str], *, start: datetime,
                    end: datetime) -> pd.DataFrame:
        """Per function: invocations, cold starts, share and p50/p95 init duration (ms)."""
        logs = self.clients.client("logs")
        t0, t1 = int(as_utc(start).timestamp()), int(as_utc(end).timestamp())
        rows: dict[str, dict[str, object]] = {}
        fns = list(dict.fromkeys(functions))
        setups = {fn: self.log_setup(fn) for fn in fns}
        timeout = self.logs_timeout_s
        deadline = self.clock() + timeout  # one bound for every batch together
        for i in range(0, len(fns), self.max_concurrent):
            started: dict[str, str] = {}
            try:
                for fn in fns[i:i + self.max_concurrent]:
                    setup = setups[fn]
                    if setup.missing:
                        rows[fn] = row(fn, 0, 0, note=setup.note)
                        continue
                    qid, note = self._start(logs, setup, t0, t1)
                    if qid is None:
                        rows[fn] = row(fn, 0, 0, note=note, log_source=setup.kind)
                    else:
                        started[fn] = qid
            except BaseException:
                self._stop(logs, list(started.values()))
                raise
            for fn, results in self._poll(logs, started, deadline, timeout, setups).items():
                rows[fn] = parse_cold_start_results(fn, results, setup=setups[fn])
        return frame([rows[fn] for fn in fns])

    def read_log_setup(self, function: str) -> LogSetup:
        """The function's log group, format and SnapStart from GetFunctionConfiguration; the
        defaults, with a note saying why, when the configuration cannot be read."""
        try:
            config = self.clients.client("lambda").get_function_configuration(
                FunctionName=function)
        except ClientError as exc:
            code = _code(exc)
            if code == "ResourceNotFoundException":
                return LogSetup(function, log_group(function), missing=True,
                                note="no such function in this region (renamed or deleted?)")
            return default_setup(function, note=(
                f"logging config unread ({code}): assumed text logs in {log_group(function)}"
                + ("; grant lambda:GetFunctionConfiguration" if code in DENIED else "")))
        return setup_from_configuration(function, config)

    def _start(self, logs: Any, setup: LogSetup, t0: int, t1: int) -> tuple[str | None, str]:
        """(query id, "") or (None, why no query runs) for one function."""
        group = setup.log_group
        try:
            resp = logs.start_query(logGroupName=group, startTime=t0, endTime=t1,
                                    queryString=setup.query, limit=10)
        except ClientError as exc:
            code = _code(exc)
            if code == "ResourceNotFoundException":
                return None, f"no log group {group} (never invoked?)"
            if code in DENIED:
                return None, (f"not allowed to query {group} ({code}): the role's "
                              "logs:StartQuery does not cover it; see python -m analytics.doctor")
            raise LogsQueryError(f"Logs Insights could not start the cold-start query on "
                                 f"{group}: {exc}") from exc
        return str(resp["queryId"]), ""

    def _poll(self, logs: Any, started: dict[str, str], deadline: float,
              timeout: float, setups: dict[str, LogSetup]) -> dict[str, list[Any]]:
        """Results of every started query, polling with backoff until all complete."""
        delay = self.first_poll_s
        pending = dict(started)
        done: dict[str, list[Any]] = {}
        status: dict[str, str] = {}
        try:
            while pending:
                for fn, qid in list(pending.items()):
                    resp = logs.get_query_results(queryId=qid)
                    status[fn] = str(resp.get("status", "Unknown"))
                    if status[fn] == "Complete":
                        done[fn] = list(resp.get("results", []))
                        del pending[fn]
                    elif status[fn] in _DONE_BAD:
                        del pending[fn]  # over already: nothing to stop
                        raise LogsQueryError(
                            f"Logs Insights cold-start query on {setups[fn].log_group} ended with "
                            f"status {status[fn]}; try again, or a shorter range")
                if not pending:
                    break
                remaining = deadline - self.clock()
                if remaining <= 0:
                    late = ", ".join(f"{setups[f].log_group} ({status[f]})" for f in pending)
                    raise LogsQueryTimeout(
                        f"Logs Insights did not finish within {timeout:g} s for {late}; the "
                        f"query was stopped. Try a shorter range, or raise {TIMEOUT_SETTING}.")
                self.sleep(min(delay, remaining))
                delay = min(delay * 2, self.max_poll_s)
        except BaseException:
            self._stop(logs, list(pending.values()))  # stop scanning (and billing)
            raise
        return done

    def _stop(self, logs: Any, query_ids: list[str]) -> None:
        for qid in query_ids:
            # Already finished, or the endpoint is down: nothing more to do either way.
            with contextlib.suppress(ClientError, BotoCoreError):
                logs.stop_query(queryId=qid)

    # -- discovery ---------------------------------------------------------------------------
    def discover_resources(self, app: App) -> Resources:
        """Resources tagged ``Application=<cost_tag>``, mapped to CloudWatch dimension values."""
        pages = self.clients.client("resourcegroupstaggingapi").get_paginator(
            "get_resources").paginate(
                TagFilters=[{"Key": TAG_KEY, "Values": [app.cost_tag]}],
                ResourceTypeFilters=list(RESOURCE_TYPES),
                PaginationConfig={"PageSize": self.discovery_page_size})
        found = classify([m["ResourceARN"] for page in pages
                          for m in page.get("ResourceTagMappingList", [])])
        return Resources(
            apis=tuple(self._api(ref) for ref in found.apis.values()),
            lambdas=tuple(found.lambdas), dynamodb_tables=tuple(found.dynamodb_tables),
            rds_instances=tuple(found.rds_instances), s3_buckets=tuple(found.s3_buckets),
        )

    def _api(self, ref: ApiRef) -> Api:
        """REST API metrics are keyed by name and stage: look them up (the id if the API is
        gone). A refused lookup raises :class:`DiscoveryDenied`: a REST API keyed by its id
        would chart nothing, and the missing ``apigateway:GET`` must be seen."""
        staged = {"stage": ref.stage} if ref.stage else {}  # an HTTP API's Stage dimension
        try:
            if ref.kind == "rest":
                gw = self.clients.client("apigateway")
                name = str(gw.get_rest_api(restApiId=ref.id)["name"])
                stage = ref.stage
                if not stage:
                    items = gw.get_stages(restApiId=ref.id).get("item", [])
                    stage = str(items[0]["stageName"]) if items else "prod"
                return Api(id=ref.id, name=name, kind="rest", stage=stage)
            name = str(self.clients.client("apigatewayv2").get_api(ApiId=ref.id)["Name"])
            return Api(id=ref.id, name=name, kind="http", **staged)
        except ClientError as exc:
            if _code(exc) in DENIED:
                raise DiscoveryDenied(
                    f"apigateway:GET was refused for API {ref.id} ({_code(exc)}), so its "
                    "name and stage cannot be read; grant apigateway:GET on /restapis/* and "
                    "/apis/* (redeploy the stack, then run python -m analytics.doctor)") from exc
        except (BotoCoreError, KeyError):
            pass
        if ref.kind == "rest":
            return Api(id=ref.id, name=ref.id, kind="rest", stage=ref.stage or "prod")
        return Api(id=ref.id, name=ref.id, kind="http", **staged)
