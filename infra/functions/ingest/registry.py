"""The series registry on DynamoDB: a few small items per app in the metrics table itself.

Counting an app's distinct names or dimension sets from the data would mean reading every
partition; instead one item per app (``_series#<app>``: a map of metric name -> last seen, ms)
and one per metric (``_series#<app>#<metric>``: dimension-set hash -> last seen) hold exactly
what the caps count. A batch costs one consistent BatchGetItem; only a new series, or one not
refreshed for a day, costs a write, and every write of one batch is one TransactWriteItems
guarded by each item's revision, so two Lambdas admitting at once cannot both pass a cap (the
loser re-reads and counts the winner's series). Entries older than the retention window no
longer count and are removed on the next write of their item.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from .guard import BatchSeries, CapExceeded, Caps, check_caps

PREFIX = "_series#"
REFRESH_MS = 86_400_000
ATTEMPTS = 4


def dims_key(canonical: str) -> str:
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()


class RegistryBusy(RuntimeError):
    """Too many concurrent admits changed the same items; the batch is unwritten (503)."""


class DynamoDBRegistry:
    def __init__(self, table: str, client: Any | None = None, *,
                 client_factory: Callable[[], Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.table = table
        self._client = client
        self._factory = client_factory
        self.sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            if self._factory is None:
                raise RuntimeError("DynamoDBRegistry needs a client or a client_factory")
            self._client = self._factory()
        return self._client

    @staticmethod
    def _key(pk: str) -> dict[str, dict[str, str]]:
        return {"metricId": {"S": pk}, "timestamp": {"N": "0"}}

    def _read(self, pks: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(pks), 100):
            request = {self.table: {"Keys": [self._key(pk) for pk in pks[start:start + 100]],
                                    "ConsistentRead": True}}
            for _ in range(ATTEMPTS):
                answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    out[item["metricId"]["S"]] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RegistryBusy("BatchGetItem left keys unprocessed")
        return out

    @staticmethod
    def _entries(item: dict[str, Any] | None, attr: str) -> dict[str, int]:
        raw = (item or {}).get(attr, {}).get("M", {})
        return {k: int(v["N"]) for k, v in raw.items()}

    def admit(self, batch: BatchSeries, *, caps: Mapping[str, Caps], now_ms: int,
              window_ms: int) -> CapExceeded | None:
        for attempt in range(ATTEMPTS):
            if attempt:
                self.sleep(0.02 * 2 ** attempt)
            over, writes = self._plan(batch, caps=caps, now_ms=now_ms, window_ms=window_ms)
            if over is not None or not writes:
                return over
            try:
                for start in range(0, len(writes), 100):
                    self.client.transact_write_items(TransactItems=writes[start:start + 100])
                return None
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in (
                        "TransactionCanceledException", "ConditionalCheckFailedException"):
                    raise
        raise RegistryBusy("the series registry kept changing under this batch")

    def _plan(self, batch: BatchSeries, *, caps: Mapping[str, Caps], now_ms: int,
              window_ms: int) -> tuple[CapExceeded | None, list[dict[str, Any]]]:
        pks = []
        for app, metrics in batch.items():
            pks.append(PREFIX + app)
            pks.extend(f"{PREFIX}{app}#{m}" for m in metrics)
        items = self._read(pks)
        oldest = now_ms - window_ms
        writes: list[dict[str, Any]] = []
        for app, metrics in sorted(batch.items()):
            names = self._entries(items.get(PREFIX + app), "names")
            dims = {m: self._entries(items.get(f"{PREFIX}{app}#{m}"), "dims") for m in metrics}
            hashed = {m: frozenset(dims_key(d) for d in ds) for m, ds in metrics.items()}
            over = check_caps(
                app, live_names={n for n, t in names.items() if t >= oldest},
                live_dims={m: {h for h, t in e.items() if t >= oldest} for m, e in dims.items()},
                batch=hashed, caps=caps.get(app, Caps()))
            if over is not None:
                return over, []
            writes += self._update(PREFIX + app, items.get(PREFIX + app), "names", names,
                                   set(metrics), now_ms=now_ms, oldest=oldest)
            for m in sorted(metrics):
                pk = f"{PREFIX}{app}#{m}"
                writes += self._update(pk, items.get(pk), "dims", dims[m], set(hashed[m]),
                                       now_ms=now_ms, oldest=oldest)
        return None, writes

    def _update(self, pk: str, item: dict[str, Any] | None, attr: str,
                entries: dict[str, int], used: set[str], *, now_ms: int,
                oldest: int) -> list[dict[str, Any]]:
        """One guarded update of an item: touch stale or new entries, drop expired ones."""
        touch = sorted(k for k in used if entries.get(k, 0) < now_ms - REFRESH_MS)
        drop = sorted(k for k, t in entries.items() if t < oldest and k not in used)
        if not touch and not drop:
            return []
        names: dict[str, str] = {"#a": attr, "#rev": "rev"}
        values: dict[str, Any] = {":now": {"N": str(now_ms)}, ":one": {"N": "1"}}
        sets, removes = [], []
        for i, k in enumerate(touch):
            names[f"#k{i}"] = k
            sets.append(f"#a.#k{i} = :now")
        for i, k in enumerate(drop):
            names[f"#d{i}"] = k
            removes.append(f"#a.#d{i}")
        if item is None or attr not in item:
            # a map must exist before its keys can be set: create it whole
            names = {"#a": attr, "#rev": "rev"}
            values = {":m": {"M": {k: {"N": str(now_ms)} for k in touch}}, ":one": {"N": "1"}}
            expr = "SET #a = :m, #rev = if_not_exists(#rev, :zero) + :one"
            values[":zero"] = {"N": "0"}
        else:
            expr = "SET " + ", ".join([*sets, "#rev = #rev + :one"])
            if removes:
                expr += " REMOVE " + ", ".join(removes)
            if not sets:
                values.pop(":now")
        update: dict[str, Any] = {
            "TableName": self.table, "Key": self._key(pk), "UpdateExpression": expr,
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
        if item is None:
            update["ConditionExpression"] = "attribute_not_exists(metricId)"
        else:
            update["ConditionExpression"] = "#rev = :rev"
            values[":rev"] = item.get("rev", {"N": "0"})
        return [{"Update": update}]
