"""The aws drill: RestoreTableToPointInTime into a new table, compare, delete.

The recovery point is ``min(now - lookback, LatestRestorableDateTime)``: DynamoDB can restore to
any second of the last 35 days, but its newest restorable second trails now by about five
minutes — that lag is the RPO PITR achieves. The source's count "at the recovery point" counts
items whose write time (``receivedAt`` on metric items, ``computedMs`` on rollups) is not after
it; an item rewritten since is reported as changed, not as a mismatch. The restored table is
deleted even when a step fails, and it is created with deletion protection off so it can be.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.core.aws_clients import AwsClients
from analytics.dr.model import DrillError, DrillReport, StepTimer

WAIT_LIMIT_S = 3600.0  # the 1-hour RTO: a restore still not ACTIVE by then is a failed drill
SEGMENTS = 8


class AwsDrill:
    def __init__(self, *, clients: AwsClients, table: str, written_attr: str = "receivedAt",
                 written_unit_ms: bool = True, clock: Callable[[], float] = time.time,
                 perf: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep, poll_s: float = 15.0,
                 rng: random.Random | None = None) -> None:
        self.clients, self.table = clients, table
        self.written_attr, self.written_unit_ms = written_attr, written_unit_ms
        self.clock, self.perf, self.sleep, self.poll_s = clock, perf, sleep, poll_s
        self.rng = rng or random.Random()

    def _ddb(self) -> Any:
        return self.clients.client("dynamodb")

    def drill(self, *, lookback_s: int = 300, sample: int = 25) -> DrillReport:
        step = StepTimer(self.perf)
        started = datetime.fromtimestamp(self.clock(), UTC)

        pitr = step("check PITR", self._pitr, lambda p: f"latest restorable {p[1]:%H:%M:%S}")
        earliest, latest = pitr
        point = max(earliest, min(started - timedelta(seconds=lookback_s), latest))
        target = f"{self.table}-drill-{started:%Y%m%dT%H%M%S}"
        notes: list[str] = []
        step("restore request", lambda: self._ddb().restore_table_to_point_in_time(
            SourceTableName=self.table, TargetTableName=target,
            RestoreDateTime=point, BillingModeOverride="PAY_PER_REQUEST"), lambda _: target)
        try:
            step("wait until ACTIVE", lambda: self._wait_active(target), lambda _: "")
            keys = [k["AttributeName"] for k in
                    self._ddb().describe_table(TableName=self.table)["Table"]["KeySchema"]]
            expected = step("count source at the point", lambda: self._count(
                self.table, before=point), lambda n: f"{n:,} items")
            restored = step("count restored", lambda: self._count(target), lambda n: f"{n:,}")
            compared = step("compare sample", lambda: self._compare(target, keys, point, sample),
                            lambda c: f"{c[0]} items, {c[2]} changed since the point")
            size, mismatches, changed = compared
            if changed:
                notes.append(f"{changed} sampled items were rewritten after the recovery "
                             "point; not counted as mismatches")
        finally:
            step("delete restored table", lambda: self._ddb().delete_table(TableName=target),
                 lambda _: target)
        return DrillReport("aws", self.table, target, started, point, expected, restored, size,
                           mismatches, tuple(step.steps), tuple(notes))

    def _pitr(self) -> tuple[datetime, datetime]:
        desc = self._ddb().describe_continuous_backups(TableName=self.table)
        pitr = desc["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            raise DrillError(f"point-in-time recovery is not enabled on {self.table}: enable it "
                             "(the CDK stack does) before a drill can restore anything")
        return (_utc(pitr["EarliestRestorableDateTime"]), _utc(pitr["LatestRestorableDateTime"]))

    def _wait_active(self, table: str) -> None:
        t0 = self.clock()
        while True:
            status = self._ddb().describe_table(TableName=table)["Table"]["TableStatus"]
            if status == "ACTIVE":
                return
            if self.clock() - t0 > WAIT_LIMIT_S:
                raise DrillError(f"{table} still {status} after {WAIT_LIMIT_S / 60:.0f} min: "
                                 "the restore misses the 1-hour RTO")
            self.sleep(self.poll_s)

    def _written_before(self, point: datetime) -> dict[str, Any]:
        t = point.timestamp() * (1000 if self.written_unit_ms else 1)
        return {"FilterExpression": "attribute_not_exists(#w) OR #w <= :t",
                "ExpressionAttributeNames": {"#w": self.written_attr},
                "ExpressionAttributeValues": {":t": {"N": str(int(t))}}}

    def _count(self, table: str, *, before: datetime | None = None) -> int:
        extra = self._written_before(before) if before is not None else {}
        pages = self._ddb().get_paginator("scan").paginate(TableName=table, Select="COUNT",
                                                           **extra)
        return sum(int(p.get("Count", 0)) for p in pages)

    def _compare(self, restored: str, keys: list[str], point: datetime,
                 sample: int) -> tuple[int, int, int]:
        """(items compared, mismatches, rewritten since the point) for up to ``sample`` items
        read from random scan segments of the restored table."""
        items: list[dict[str, Any]] = []
        for seg in self.rng.sample(range(SEGMENTS), SEGMENTS):
            if len(items) >= sample:
                break
            out = self._ddb().scan(TableName=restored, Segment=seg, TotalSegments=SEGMENTS,
                                   Limit=sample - len(items))
            items += out.get("Items", [])
        items = items[:sample]
        mismatches = changed = 0
        for i in range(0, len(items), 100):
            chunk = items[i:i + 100]
            found = self._batch_get([{k: it[k] for k in keys} for it in chunk])
            by_key = {tuple(str(f[k]) for k in keys): f for f in found}
            limit = point.timestamp() * (1000 if self.written_unit_ms else 1)
            for it in chunk:
                src = by_key.get(tuple(str(it[k]) for k in keys))
                if src == it:
                    continue
                w = (src or {}).get(self.written_attr, {}).get("N")
                if src is not None and w is not None and float(w) > limit:
                    changed += 1
                else:
                    mismatches += 1
        return len(items), mismatches, changed

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(8):
            resp = self._ddb().batch_get_item(RequestItems=request)
            out += resp.get("Responses", {}).get(self.table, [])
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                return out
            self.sleep(min(5.0, 0.05 * 2 ** attempt))
        raise DrillError("DynamoDB kept returning unprocessed keys while reading the sample")


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)
