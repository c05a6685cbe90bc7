"""Simulated Cost Explorer line items for the local backend: one row per day, service and tag.

The tick hook keeps the ``cost_items`` table complete up to the last *finished* UTC day. The
current, partial day is never written (Cost Explorer's own figure for today is an estimate that
keeps moving; leaving it out keeps every day immutable once written, so a cached month never
disagrees with the store). On the first start it writes the whole cost history at once,
independently of the metrics history: from the first day of the previous calendar month, or
45 days back if that is earlier, so month-over-month comparisons always have a full month.

Magnitudes (defaults of ``apps.toml``): ilikeyacut ≈ $300/month, jobseek ≈ $800/month (its RDS
instance is a reserved instance: a monthly fee billed on the 1st in UnblendedCost and spread over
the month's days in AmortizedCost), untagged spend ≈ 8% of the total. Once a calendar month one
app's service spikes for one or two days (×3.5–5): the simulator's flagged anomaly, which the
local backend reports as Cost Anomaly Detection would.

Determinism: a day's items come from an RNG seeded by ``(seed, tag, day)`` only, and the month's
anomaly from ``(seed, year, month)``, so the same seed gives the same costs however and whenever
the days are written.
"""

from __future__ import annotations

import calendar
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from analytics.core.catalog import App, Catalog
from analytics.local.store import LocalStore

#: meta key: the first day NOT yet written (ISO date).
WRITTEN_UNTIL = "cost_items_until"
MIN_HISTORY_DAYS = 45

LAMBDA = "AWS Lambda"
APIGW = "Amazon API Gateway"
DYNAMODB = "Amazon DynamoDB"
RDS = "Amazon Relational Database Service"
S3 = "Amazon Simple Storage Service"
CLOUDWATCH = "AmazonCloudWatch"
TRANSFER = "AWS Data Transfer"
ECS = "Amazon Elastic Container Service"
ELB = "Amazon Elastic Load Balancing"
VPC = "Amazon Virtual Private Cloud"
ELASTICACHE = "Amazon ElastiCache"
KMS = "AWS Key Management Service"
SECRETS = "AWS Secrets Manager"
BACKUP = "AWS Backup"
ECR = "Amazon EC2 Container Registry (ECR)"
#: Every service a day's items name: the apps' seven, then the dashboard's own stack's.
SERVICES = (LAMBDA, APIGW, DYNAMODB, RDS, S3, CLOUDWATCH, TRANSFER, ECS, ELB, VPC, ELASTICACHE,
            KMS, SECRETS, BACKUP, ECR)

#: Usage-driven monthly spend per unit of app weight, and its split by service.
USAGE_USD_PER_WEIGHT = 300.0
USAGE_SHARES = {LAMBDA: 0.34, APIGW: 0.22, DYNAMODB: 0.16, S3: 0.12, CLOUDWATCH: 0.09,
                TRANSFER: 0.07}
#: Services whose cost follows traffic (quieter weekends); the rest is storage-like and steady.
TRAFFIC_DRIVEN = {LAMBDA, APIGW, DYNAMODB, TRANSFER}
#: One RDS instance: a reserved-instance monthly fee plus storage and I/O billed daily.
RDS_RI_FEE_USD = 290.0
RDS_USAGE_USD = 30.0
#: Untagged spend relative to the tagged total (8% of the grand total = 0.087 of the tagged).
UNTAGGED_RATIO = 0.08 / 0.92
UNTAGGED_SHARES = {CLOUDWATCH: 0.40, TRANSFER: 0.35, S3: 0.15, LAMBDA: 0.10}
ANOMALY_SERVICES = (LAMBDA, DYNAMODB, TRANSFER, APIGW)
#: The dashboard's own stack (tag ``Application=central-analytics``), per service and month:
#: the 50-user column of docs/deploy.md's cost table (one 1 vCPU / 2 GB task, the ALB and its
#: public addresses, the serverless cache's 100 MB floor, the ingest and pipeline pieces), less
#: its own API calls, which AWS bills untagged.
OWN_STACK_TAG = "central-analytics"
OWN_STACK_MONTHLY_USD = {
    ECS: 36.04, ELB: 17.01, VPC: 10.95, CLOUDWATCH: 11.03, ELASTICACHE: 6.14, BACKUP: 2.80,
    DYNAMODB: 1.21, KMS: 1.00, SECRETS: 0.80, S3: 0.07, ECR: 0.05, APIGW: 0.04, LAMBDA: 0.02,
}
DAYS_PER_MONTH = 365.0 / 12.0
WEEKDAY_FACTOR = 7.0 / 6.6  # weekdays x1.06, weekends x0.85: averages to 1 over a week


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


@dataclass(frozen=True)
class Anomaly:
    """The month's simulated cost spike."""

    tag: str
    service: str
    first_day: date
    days: int
    factor: float

    def covers(self, tag: str, service: str, day: date) -> bool:
        return (tag == self.tag and service == self.service
                and self.first_day <= day < self.first_day + timedelta(days=self.days))


def month_anomaly(catalog: Catalog, *, seed: int, year: int, month: int) -> Anomaly | None:
    """The one anomaly of ``year-month`` (None for an empty catalog)."""
    if not catalog.apps:
        return None
    rng = np.random.default_rng([seed, year, month, 4242])
    app = catalog.apps[int(rng.integers(0, len(catalog.apps)))]
    service = ANOMALY_SERVICES[int(rng.integers(0, len(ANOMALY_SERVICES)))]
    first = date(year, month, int(rng.integers(3, 25)))
    return Anomaly(app.cost_tag, service, first, int(rng.integers(1, 3)),
                   float(rng.uniform(3.5, 5.0)))


def _usage_factor(service: str, day: date) -> float:
    if service not in TRAFFIC_DRIVEN:
        return 1.0
    return WEEKDAY_FACTOR * (0.8 if day.weekday() >= 5 else 1.0)


def _app_items(app: App, day: date, seed: int) -> list[tuple[str, float, float]]:
    """(service, unblended, amortized) of one app on one day, before any anomaly."""
    n = day.toordinal()
    rng = np.random.default_rng([seed, _stable(app.cost_tag), n, 11])
    base = USAGE_USD_PER_WEIGHT * app.weight / DAYS_PER_MONTH
    out = []
    for service, share in USAGE_SHARES.items():
        sigma = 0.07 if service in TRAFFIC_DRIVEN else 0.02
        usd = base * share * _usage_factor(service, day) * float(np.exp(rng.normal(0, sigma)))
        out.append((service, usd, usd))
    instances = len(app.resources.rds_instances)
    if instances:
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        usage = instances * RDS_USAGE_USD / DAYS_PER_MONTH * float(np.exp(rng.normal(0, 0.02)))
        fee_unblended = instances * RDS_RI_FEE_USD if day.day == 1 else 0.0
        fee_amortized = instances * RDS_RI_FEE_USD / days_in_month
        out.append((RDS, usage + fee_unblended, usage + fee_amortized))
    return out


def day_items(catalog: Catalog, day: date, seed: int) -> list[tuple[object, ...]]:
    """Every cost line item of ``day``: (day, service, tag, unblended, amortized, expected,
    anomaly). The untagged tag is ``""``, as Cost Explorer reports ``Application$``."""
    anomaly = month_anomaly(catalog, seed=seed, year=day.year, month=day.month)
    rows: list[tuple[object, ...]] = []
    tagged_total = 0.0
    for app in catalog.apps:
        for service, unblended, amortized in _app_items(app, day, seed):
            tagged_total += amortized
            flagged = anomaly is not None and anomaly.covers(app.cost_tag, service, day)
            k = anomaly.factor if flagged and anomaly else 1.0
            rows.append((day, service, app.cost_tag, unblended * k, amortized * k, unblended,
                         flagged))
    rng = np.random.default_rng([seed, _stable("untagged"), day.toordinal(), 11])
    untagged = tagged_total * UNTAGGED_RATIO
    for service, share in UNTAGGED_SHARES.items():
        usd = untagged * share * float(np.exp(rng.normal(0, 0.05)))
        rows.append((day, service, "", usd, usd, usd, False))
    own = np.random.default_rng([seed, _stable(OWN_STACK_TAG), day.toordinal(), 11])
    for service, monthly in OWN_STACK_MONTHLY_USD.items():  # steady: hours, not traffic
        usd = monthly / DAYS_PER_MONTH * float(np.exp(own.normal(0, 0.01)))
        rows.append((day, service, OWN_STACK_TAG, usd, usd, usd, False))
    return rows


def history_start(today: date) -> date:
    """First day of cost history: the previous month's first day, at least 45 days back."""
    prev_month_end = today.replace(day=1) - timedelta(days=1)
    return min(prev_month_end.replace(day=1), today - timedelta(days=MIN_HISTORY_DAYS))


def write_days(store: LocalStore, catalog: Catalog, *, seed: int, first: date, until: date) -> int:
    """Write the items of days ``[first, until)`` and move the watermark, in one transaction."""
    rows = [r for n in range((until - first).days)
            for r in day_items(catalog, first + timedelta(days=n), seed)]
    frame = pd.DataFrame(rows, columns=["day", "service", "app_tag", "unblended_usd",
                                        "amortized_usd", "expected_usd", "anomaly"])
    with store.write_lock:
        cur = store.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            if len(frame):
                cur.register("new_cost_items", frame)
                cur.execute("INSERT OR REPLACE INTO cost_items SELECT day::DATE, service, app_tag,"
                            " unblended_usd, amortized_usd, expected_usd, anomaly"
                            " FROM new_cost_items")
                cur.unregister("new_cost_items")
            cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        [WRITTEN_UNTIL, until.isoformat()])
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
    return len(frame)


def fill_costs(store: LocalStore, catalog: Catalog, *, seed: int, now_ms: int) -> int:
    """Write every finished day not yet written; return the number of line items written."""
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    raw = store.get_meta(WRITTEN_UNTIL)
    first = history_start(today) if raw is None else date.fromisoformat(raw)
    if first >= today:
        return 0
    return write_days(store, catalog, seed=seed, first=first, until=today)


def make_hook(catalog: Catalog, *, seed: int,
              clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
              ) -> Callable[[LocalStore, int, int], None]:
    """A hook that ignores the metric step it is given and keeps the costs up to date.

    The metric fill may be replaying history days ago; the cost history is anchored on the
    wall clock instead, so its length does not depend on the metrics history.
    """

    def hook(store: LocalStore, t0_ms: int, t1_ms: int) -> None:
        fill_costs(store, catalog, seed=seed, now_ms=max(clock_ms(), t1_ms))

    return hook

