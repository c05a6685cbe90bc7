"""Where accepted metrics are stored: the ``MetricSink`` protocol and its DynamoDB implementation.

Why a protocol: the same resolver runs in Lambda (DynamoDB) and in the dashboard's local backend
(DuckDB). A sink only has to say which items it did NOT write; the resolver turns that into a 503
naming the request indexes, so the client resends exactly those and nothing acknowledged is lost.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .budget import CALL_WORST_S, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, TOTAL_ATTEMPTS, WRITE_BUDGET_S
from .keys import MetricItem, dedupe

#: botocore already retries throttling/5xx per call; our loop only handles UnprocessedItems.
#: Timeouts and attempts are sized so a whole request fits the Lambda timeout (see budget.py).
BOTO_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
)
BATCH_SIZE = 25  # BatchWriteItem's limit
log = logging.getLogger(__name__)  # the resolver logs outcomes; this says *why* a write failed


class MetricSink(Protocol):
    """Stores items idempotently (same ``item.key`` -> overwrite).

    ``write`` returns the positions in ``items`` that were NOT written (empty list = all stored).
    It must not raise for a storage failure: report the positions instead.
    """

    def write(self, items: list[MetricItem]) -> list[int]:
        """Store ``items``; return the indexes (into ``items``) not written."""
        ...


class MemorySink:
    """Keeps items in a dict keyed like the table; for tests and a storage-less local run."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, int], MetricItem] = {}
        self.calls = 0

    def write(self, items: list[MetricItem]) -> list[int]:
        """Store every item (never fails)."""
        self.calls += 1
        for item in items:
            self.items[item.key] = item
        return []


def to_attribute_values(item: MetricItem) -> dict[str, dict[str, str]]:
    """The DynamoDB item in low-level attribute-value form (no float ever reaches boto3)."""
    av: dict[str, dict[str, str]] = {
        "metricId": {"S": item.metric_id},
        "timestamp": {"N": str(item.sort_key)},
        "ts_ms": {"N": str(item.ts_ms)},
        "dims": {"S": item.dims},
        "value": {"N": str(item.value)},
        "app": {"S": item.app},
        "metricName": {"S": item.metric_name},
        "receivedAt": {"N": str(item.received_at)},
        "ttl": {"N": str(item.ttl)},
    }
    if item.unit is not None:
        av["unit"] = {"S": item.unit}
    return av


def _key_of(request: dict[str, Any]) -> tuple[str, int]:
    av = request["PutRequest"]["Item"]
    return (av["metricId"]["S"], int(av["timestamp"]["N"]))


def full_jitter(cap: float) -> float:
    """AWS "full jitter": a uniform delay in [0, cap] spreads retries of concurrent callers."""
    return random.uniform(0.0, cap)


class DynamoDBSink:
    """BatchWriteItem in chunks of 25, resending UnprocessedItems with capped exponential backoff.

    ``sleep`` and ``jitter`` are injectable so tests neither wait nor depend on randomness:
    before retry ``n`` (0-based) the sink sleeps ``jitter(min(max_delay, base_delay * 2**n))``.
    A ClientError/BotoCoreError (botocore has already retried it) marks that chunk and every
    later chunk as not written: the request is failing, so stop spending the Lambda's time.
    ``budget_s`` (read on ``clock``) bounds one ``write``: no call starts, and no backoff sleeps,
    unless a worst-case call (``call_worst_s``) still ends inside it — what is left is reported
    not written, so a slow table still yields the 503 with ``notWritten`` before the timeout.
    """

    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        *,
        max_attempts: int = 6,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = full_jitter,
        clock: Callable[[], float] = time.monotonic,
        budget_s: float = WRITE_BUDGET_S,
        call_worst_s: float = CALL_WORST_S,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.jitter = jitter
        self.clock = clock
        self.budget_s = budget_s
        self.call_worst_s = call_worst_s

    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client, created on first use (keeps imports cheap and testable)."""
        if self._client is None:
            import boto3  # deferred: no client (and no region lookup) at import time

            self._client = boto3.client("dynamodb", config=BOTO_CONFIG)
        return self._client

    def write(self, items: list[MetricItem]) -> list[int]:
        """Write ``items``; return the positions not written (see :class:`MetricSink`)."""
        unique, groups = dedupe(items)
        failed: list[int] = []  # positions in ``unique``
        last_start = self.clock() + self.budget_s - self.call_worst_s  # latest safe call start
        for start in range(0, len(unique), BATCH_SIZE):
            chunk = range(start, min(start + BATCH_SIZE, len(unique)))
            ok, chunk_failed = self._write_chunk(unique, chunk, last_start)
            failed.extend(chunk_failed)
            if not ok:
                failed.extend(range(chunk.stop, len(unique)))
                break
        return sorted(pos for u in failed for pos in groups[u])

    def _write_chunk(self, unique: list[MetricItem], chunk: range,
                     last_start: float) -> tuple[bool, list[int]]:
        """Returns (keep going, positions in ``unique`` left unwritten)."""
        pending = {unique[i].key: i for i in chunk}
        requests = [{"PutRequest": {"Item": to_attribute_values(unique[i])}} for i in chunk]
        for attempt in range(self.max_attempts):
            delay = (self.jitter(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
                     if attempt else 0.0)
            if self.clock() + delay > last_start:
                # A worst-case call would end after the budget: report what is left instead.
                log.warning("write budget of %.0f s spent: %d items not written",
                            self.budget_s, len(pending))
                return False, sorted(pending.values())
            if delay:
                self.sleep(delay)
            try:
                answer = self.client.batch_write_item(RequestItems={self.table_name: requests})
            except (ClientError, BotoCoreError) as exc:
                code = (
                    exc.response.get("Error", {}).get("Code")
                    if isinstance(exc, ClientError)
                    else ""
                )
                log.warning("BatchWriteItem failed: %s %s", type(exc).__name__, code or exc)
                return False, sorted(pending.values())
            requests = (answer.get("UnprocessedItems") or {}).get(self.table_name) or []
            try:
                left = {_key_of(r) for r in requests}
            except (KeyError, TypeError, ValueError):  # unreadable answer: count all as unwritten
                return True, sorted(pending.values())
            pending = {k: i for k, i in pending.items() if k in left}
            if not requests:
                return True, []
        log.warning("%d items still unprocessed after %d attempts", len(pending), self.max_attempts)
        return True, sorted(pending.values())
