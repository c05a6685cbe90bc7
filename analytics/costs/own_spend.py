"""What the dashboard's own AWS API calls cost: priced from the cache's upstream-call counters.

The botocore hooks in :mod:`analytics.core.aws_clients` count every call by API name
(``"cloudwatch.GetMetricData"``, ``"ce.GetCostAndUsage"``…) and its billable units (metrics
requested for GetMetricData, 1 otherwise), and every retry with the same units: AWS bills each
attempt that reaches it (a Cost Explorer retry is another $0.01), so a retry is priced like a
call — an upper bound, since a throttled attempt may not be billed. Prices (us-east-1,
/work/shared/aws-facts.md):

- CloudWatch GetMetricData: $0.01 per 1,000 metrics requested (the counted units);
  other CloudWatch API requests $0.01 per 1,000 (free tier ignored: an upper bound);
- Cost Explorer: $0.01 per request, every page included;
- DynamoDB on-demand reads: $0.125 per million read request units; the counters see requests,
  not units, so each read request is assumed to consume :data:`ASSUMED_RRU_PER_READ` units
  (a Query of up to 8 KB eventually consistent is 1 RRU; we assume 4 to stay on the safe side);
- Logs Insights: $0.005 per GB scanned — the counters do not see bytes scanned, so its cost is
  reported as unknown (the call count is still shown);
- anything else (tagging, STS…): no charge assumed, listed with its count.

Projection: the counters run since the process started, so the spend rate is
``spend since start / hours since start``; "today" is that rate × hours elapsed today (or the
actual spend if the process started today) and the month is the rate × hours in the month.
A fresh process overestimates (cold caches) and a long-idle one underestimates; the page says so.
With a shared cache tier the counters are the whole fleet's (every task adds its calls there),
counted since the tier first saw one.
"""

from __future__ import annotations

import calendar
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from analytics.core import access
from analytics.core.runtime import HasBackend, RuntimeOf

GET_METRIC_DATA_PER_1000_METRICS = 0.01
CLOUDWATCH_PER_1000_REQUESTS = 0.01
CE_PER_REQUEST = 0.01
DYNAMODB_PER_MILLION_RRU = 0.125
LOGS_INSIGHTS_PER_GB = 0.005
ASSUMED_RRU_PER_READ = 4
DYNAMODB_READS = {"Query", "GetItem", "BatchGetItem", "Scan", "TransactGetItems"}
_IMPORTED_AT = time.time()


@dataclass(frozen=True)
class Priced:
    api: str
    calls: int
    units: int
    usd: float | None  # None: price unknown from the counters
    basis: str
    retries: int = 0  # attempts after the first, priced in ``usd``


def price_call(api: str, calls: int, units: int, *, retries: int = 0,
               retry_units: int = 0) -> Priced:
    """Price one counter line, retries included (each attempt is billed); the basis says how."""
    line = _price(api, calls + retries, units + retry_units)
    return Priced(api, calls, units, line.usd, line.basis, retries)


def _price(api: str, calls: int, units: int) -> Priced:
    service, _, op = api.partition(".")
    if api == "cloudwatch.GetMetricData":
        return Priced(api, calls, units, units / 1000 * GET_METRIC_DATA_PER_1000_METRICS,
                      "$0.01 per 1,000 metrics requested")
    if service == "cloudwatch":
        return Priced(api, calls, units, calls / 1000 * CLOUDWATCH_PER_1000_REQUESTS,
                      "$0.01 per 1,000 requests")
    if service == "ce":
        return Priced(api, calls, units, calls * CE_PER_REQUEST, "$0.01 per request (per page)")
    if service == "dynamodb" and op in DYNAMODB_READS:
        rru = calls * ASSUMED_RRU_PER_READ
        return Priced(api, calls, units, rru / 1e6 * DYNAMODB_PER_MILLION_RRU,
                      f"≈ {ASSUMED_RRU_PER_READ} RRU per request × $0.125 per million RRU")
    if service == "logs" and op in ("StartQuery", "GetQueryResults"):
        return Priced(api, calls, units, None,
                      "$0.005 per GB scanned; bytes scanned are not counted: unknown")
    return Priced(api, calls, units, 0.0, "no per-request charge assumed")


def process_started_at() -> float:
    """Epoch seconds when this process started (Linux /proc; else when this module loaded)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
        return boot + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED_AT


@dataclass(frozen=True)
class OwnSpend:
    backend: str
    lines: list[Priced]
    since: float
    now: float
    unknown: list[str]
    scope: str = "this process"  # or "every task" (the shared tier's fleet counters)

    @property
    def total_usd(self) -> float:
        return sum(p.usd for p in self.lines if p.usd is not None)

    @property
    def hours(self) -> float:
        return max((self.now - self.since) / 3600.0, 1 / 60)

    @property
    def rate_per_hour(self) -> float:
        return self.total_usd / self.hours

    @property
    def today_usd(self) -> float:
        now = datetime.fromtimestamp(self.now, UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        if self.since >= midnight:
            return self.total_usd
        return self.rate_per_hour * (self.now - midnight) / 3600.0

    @property
    def month_projection_usd(self) -> float:
        now = datetime.fromtimestamp(self.now, UTC)
        return self.rate_per_hour * 24 * calendar.monthrange(now.year, now.month)[1]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "api": p.api, "calls": p.calls, "retries": p.retries, "billable_units": p.units,
            "usd_since_start": None if p.usd is None else round(p.usd, 4),
            "price_basis": p.basis,
        } for p in self.lines], columns=["api", "calls", "retries", "billable_units",
                                         "usd_since_start", "price_basis"])


def own_spend(rt: RuntimeOf[HasBackend], *, now: float | None = None, since: float | None = None
              ) -> OwnSpend:
    """Price the process's AWS calls so far (zero on the local backend, which makes none).

    Account-level, like the account's totals: admins of every app only (a viewer gets
    AccessDenied; a trusted process such as a CLI has no principal and may read it).
    """
    p = access.current_principal()
    if p is not None and not (p.role == "admin" and p.apps is None):
        raise access.AccessDenied("the dashboard's own AWS spend is shown to admins only")
    snap: dict[str, Any] = rt.cache.snapshot()
    fleet: dict[str, int] | None = snap.get("fleet")
    if fleet:  # the shared tier's counters: every task's calls
        snap = {name: {k.partition("|")[2]: n for k, n in fleet.items()
                       if k.startswith(f"{name}|")}
                for name in ("aws_calls", "aws_units", "aws_retries", "aws_retry_units")}
        if since is None and "since" in fleet:
            since = float(fleet["since"])
    calls: dict[str, int] = snap.get("aws_calls", {})
    units: dict[str, int] = snap.get("aws_units", {})
    retries: dict[str, int] = snap.get("aws_retries", {})
    retry_units: dict[str, int] = snap.get("aws_retry_units", {})
    lines = [price_call(api, n, int(units.get(api, n)), retries=retries.get(api, 0),
                        retry_units=retry_units.get(api, retries.get(api, 0)))
             for api, n in sorted(calls.items())]
    return OwnSpend(rt.sources.backend, lines, process_started_at() if since is None else since,
                    rt.clock() if now is None else now,
                    [p.api for p in lines if p.usd is None],
                    "every task" if fleet else "this process")
