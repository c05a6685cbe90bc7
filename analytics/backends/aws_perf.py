"""aws backend: Lambda cold starts from CloudWatch Logs Insights, and tag discovery.

Cold starts: a Lambda REPORT line carries ``@initDuration`` only on a cold start, so one Logs
Insights query per function's log group (``/aws/lambda/<function>``) counts invocations and cold
starts and takes the init-duration percentiles. Logs Insights is asynchronous: StartQuery, then
GetQueryResults until ``Complete``. Polling backs off (0.5 s doubling to 2 s) and gives up after
a bounded time (20 s by default; ``LOGS_QUERY_TIMEOUT_S`` in the environment or in
secrets.toml's ``[analytics]``) with a message saying so, and StopQuery is called so an
abandoned query stops scanning (and billing) — a page must not hang on a slow log group.

Discovery: ``tag:GetResources`` (paginated) for ``Application=<cost_tag>``; ARNs are mapped to
CloudWatch dimension values by :mod:`analytics.discovery`; API Gateway names and stages, which
REST API metrics are keyed by, are looked up by id.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from analytics.catalog import Api, App, Resources
from analytics.coldstarts import frame, row
from analytics.discovery import RESOURCE_TYPES, TAG_KEY, ApiRef, classify
from analytics.periods import as_utc

if TYPE_CHECKING:
    from analytics.backends.aws_clients import AwsClients

COLD_START_QUERY = (
    'filter @type = "REPORT"\n'
    "| stats count(*) as invocations, count(@initDuration) as coldStarts, "
    "pct(@initDuration, 50) as initP50, pct(@initDuration, 95) as initP95"
)
DEFAULT_LOGS_TIMEOUT_S = 20.0
TIMEOUT_SETTING = "LOGS_QUERY_TIMEOUT_S"
_DONE_BAD = ("Failed", "Cancelled", "Timeout", "Unknown")


class LogsQueryError(RuntimeError):
    """A Logs Insights query failed, was cancelled or could not start."""


class LogsQueryTimeout(LogsQueryError):
    """A Logs Insights query did not complete in time (it was stopped)."""


def log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def parse_cold_start_results(function: str, results: list[list[dict[str, str]]]
                             ) -> dict[str, object]:
    """One table row from GetQueryResults' ``results`` (one row for a stats-only query)."""
    if not results:
        return row(function, 0, 0)
    fields = {f["field"]: f.get("value") for f in results[0]}

    def num(name: str) -> float | None:
        raw = fields.get(name)
        try:
            return None if raw in (None, "") else float(raw)  # type: ignore[arg-type]
        except ValueError:
            return None

    return row(function, num("invocations"), num("coldStarts"), num("initP50"), num("initP95"))


class AwsPerfMixin:
    """Mixed into :class:`analytics.backends.aws.AwsBackend`."""

    clients: AwsClients
    #: Seconds to wait for Logs Insights; None reads LOGS_QUERY_TIMEOUT_S (default 20 s).
    logs_timeout_s: float | None = None
    logs_first_poll_s = 0.5
    logs_max_poll_s = 2.0
    #: Log groups queried at once (Logs Insights allows a few dozen concurrent queries).
    logs_max_concurrent = 10
    logs_sleep: Callable[[float], None] = staticmethod(time.sleep)
    logs_clock: Callable[[], float] = staticmethod(time.monotonic)
    discovery_page_size = 100

    # -- cold starts -------------------------------------------------------------------------
    def logs_timeout(self) -> float:
        if self.logs_timeout_s is not None:
            return float(self.logs_timeout_s)
        raw = os.environ.get(TIMEOUT_SETTING) or dict(
            self.clients.settings.secrets.get("analytics", {})).get(TIMEOUT_SETTING)
        try:
            return float(raw) if raw not in (None, "") else DEFAULT_LOGS_TIMEOUT_S
        except (TypeError, ValueError):
            return DEFAULT_LOGS_TIMEOUT_S

    def cold_starts(self, functions: Sequence[str], start: datetime,
                    end: datetime) -> pd.DataFrame:
        """Per function: invocations, cold starts, share and p50/p95 init duration (ms)."""
        logs = self.clients.client("logs")
        t0, t1 = int(as_utc(start).timestamp()), int(as_utc(end).timestamp())
        rows: dict[str, dict[str, object]] = {}
        fns = list(dict.fromkeys(functions))
        timeout = self.logs_timeout()
        deadline = self.logs_clock() + timeout  # one bound for every batch together
        for i in range(0, len(fns), self.logs_max_concurrent):
            started: dict[str, str] = {}
            try:
                for fn in fns[i:i + self.logs_max_concurrent]:
                    qid = self._start(logs, fn, t0, t1)
                    if qid is None:
                        rows[fn] = row(fn, 0, 0, note="no log group (never invoked?)")
                    else:
                        started[fn] = qid
            except BaseException:
                self._stop(logs, list(started.values()))
                raise
            for fn, results in self._poll(logs, started, deadline, timeout).items():
                rows[fn] = parse_cold_start_results(fn, results)
        return frame([rows[fn] for fn in fns])

    def _start(self, logs: Any, fn: str, t0: int, t1: int) -> str | None:
        try:
            resp = logs.start_query(logGroupName=log_group(fn), startTime=t0, endTime=t1,
                                    queryString=COLD_START_QUERY, limit=10)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise LogsQueryError(f"Logs Insights could not start the cold-start query on "
                                 f"{log_group(fn)}: {exc}") from exc
        return str(resp["queryId"])

    def _poll(self, logs: Any, started: dict[str, str], deadline: float,
              timeout: float) -> dict[str, list[Any]]:
        """Results of every started query, polling with backoff until all complete."""
        delay = self.logs_first_poll_s
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
                            f"Logs Insights cold-start query on {log_group(fn)} ended with "
                            f"status {status[fn]}; try again, or a shorter range")
                if not pending:
                    break
                remaining = deadline - self.logs_clock()
                if remaining <= 0:
                    late = ", ".join(f"{log_group(f)} ({status[f]})" for f in pending)
                    raise LogsQueryTimeout(
                        f"Logs Insights did not finish within {timeout:g} s for {late}; the "
                        f"query was stopped. Try a shorter range, or raise {TIMEOUT_SETTING}.")
                self.logs_sleep(min(delay, remaining))
                delay = min(delay * 2, self.logs_max_poll_s)
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
        tagging = self.clients.client("resourcegroupstaggingapi")
        arns: list[str] = []
        token = ""
        while True:
            resp = tagging.get_resources(
                TagFilters=[{"Key": TAG_KEY, "Values": [app.cost_tag]}],
                ResourceTypeFilters=list(RESOURCE_TYPES),
                ResourcesPerPage=self.discovery_page_size,
                **({"PaginationToken": token} if token else {}))
            arns += [m["ResourceARN"] for m in resp.get("ResourceTagMappingList", [])]
            token = resp.get("PaginationToken") or ""
            if not token:
                break
        found = classify(arns)
        return Resources(
            apis=tuple(self._api(ref) for ref in found.apis.values()),
            lambdas=tuple(found.lambdas), dynamodb_tables=tuple(found.dynamodb_tables),
            rds_instances=tuple(found.rds_instances), s3_buckets=tuple(found.s3_buckets),
        )

    def _api(self, ref: ApiRef) -> Api:
        """REST API metrics are keyed by name and stage: look them up (id if that fails)."""
        try:
            if ref.kind == "rest":
                gw = self.clients.client("apigateway")
                name = str(gw.get_rest_api(restApiId=ref.id)["name"])
                stage = ref.stage
                if not stage:
                    items = gw.get_stages(restApiId=ref.id).get("item", [])
                    stage = str(items[0]["stageName"]) if items else "prod"
                return Api(ref.id, name, "rest", stage)
            name = str(self.clients.client("apigatewayv2").get_api(ApiId=ref.id)["Name"])
            return Api(ref.id, name, "http", ref.stage or "$default")
        except (ClientError, BotoCoreError, KeyError):
            return Api(ref.id, ref.id, ref.kind,
                       ref.stage or ("prod" if ref.kind == "rest" else "$default"))
