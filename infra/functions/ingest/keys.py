"""Storage keys and the stored item for a custom business metric (pure functions, no I/O).

Why this layout: the table is read as "one metric of one app over a time window", so the partition
key is ``<app>#<metricName>`` and the sort key orders by time. Several dimension sets of the same
metric may share a millisecond, and a retry of the same datapoint must overwrite rather than add,
so the sort key is ``ts_ms * 10**20 + blake2b64(canonical dimensions)``: time-ordered, unique per
(timestamp, dimension set), identical for an identical datapoint, and at most 33 digits -- inside
DynamoDB's 38-digit Number precision. Any other sink (the local DuckDB one) uses the same key so
both backends agree on what "the same datapoint" means.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

#: Multiplier that leaves 20 decimal digits below the millisecond for the dimension hash
#: (an 8-byte hash is < 1.85e19 < 1e20).
SORT_KEY_SHIFT = 10**20
MS_PER_DAY = 86_400_000


@dataclass(frozen=True, slots=True)
class MetricItem:
    """One accepted datapoint, exactly as every sink stores it.

    ``dims`` is the canonical string (see :func:`canonical_dims`); ``dimensions`` keeps the same
    pairs sorted by name for sinks that want columns. ``received_at`` is epoch ms at acceptance
    (ingest lag = received_at - ts_ms); ``ttl`` is epoch *seconds* (DynamoDB TTL's unit).
    """

    metric_id: str
    sort_key: int
    ts_ms: int
    dims: str
    dimensions: tuple[tuple[str, str], ...]
    value: Decimal
    unit: str | None
    app: str
    metric_name: str
    received_at: int
    ttl: int

    @property
    def key(self) -> tuple[str, int]:
        """The primary key (partition, sort): two items with the same key are the same datapoint."""
        return (self.metric_id, self.sort_key)


def metric_id(app: str, metric_name: str) -> str:
    """Partition key. App ids never contain '#', so splitting on the first '#' is unambiguous."""
    return f"{app}#{metric_name}"


def _escape(text: str) -> str:
    # Escaping keeps the canonical form injective: without it {"a": "b,c=d"} and
    # {"a": "b", "c": "d"} would both read "a=b,c=d" and overwrite each other.
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def canonical_dims(dimensions: Iterable[tuple[str, str]]) -> str:
    """``Name=Value,Name=Value`` sorted by name, with ``\\``, ``,`` and ``=`` backslash-escaped.

    Names must be unique (validation guarantees it), which makes the order total.
    """
    return ",".join(f"{_escape(n)}={_escape(v)}" for n, v in sorted(dimensions))


def parse_dims(canonical: str) -> list[tuple[str, str]]:
    """Inverse of :func:`canonical_dims`, for readers of the ``dims`` attribute."""
    pairs: list[tuple[str, str]] = []
    if not canonical:
        return pairs
    name: str | None = None
    buf: list[str] = []
    chars = iter(canonical)
    for ch in chars:
        if ch == "\\":
            buf.append(next(chars, ""))
        elif ch == "=" and name is None:
            name, buf = "".join(buf), []
        elif ch == ",":
            pairs.append((name or "", "".join(buf)))
            name, buf = None, []
        else:
            buf.append(ch)
    pairs.append((name or "", "".join(buf)))
    return pairs


def dims_hash(canonical: str) -> int:
    """64-bit blake2b of the canonical dimension string: stable across processes (unlike hash())."""
    return int.from_bytes(hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).digest(), "big")


def sort_key(ts_ms: int, canonical: str) -> int:
    """Time-ordered sort key that is unique per (timestamp, dimension set)."""
    return ts_ms * SORT_KEY_SHIFT + dims_hash(canonical)


def split_sort_key(key: int) -> tuple[int, int]:
    """(ts_ms, dimension hash) of a sort key."""
    return divmod(key, SORT_KEY_SHIFT)


def sort_key_range(start_ms: int, end_ms: int) -> tuple[int, int]:
    """Inclusive sort-key bounds covering every dimension set in [start_ms, end_ms]."""
    return start_ms * SORT_KEY_SHIFT, (end_ms + 1) * SORT_KEY_SHIFT - 1


def decimal_value(value: float) -> Decimal:
    """Decimal from ``repr`` (shortest round-trip form), not the binary float: 0.1 stays 0.1."""
    return Decimal(repr(float(value) + 0.0))  # + 0.0 folds -0.0 into 0.0


def build_item(
    *,
    app: str,
    metric_name: str,
    value: float,
    unit: str | None,
    dimensions: Sequence[tuple[str, str]],
    ts_ms: int,
    received_at_ms: int,
    retention_days: int,
) -> MetricItem:
    """Build the stored item of one validated datapoint."""
    canonical = canonical_dims(dimensions)
    return MetricItem(
        metric_id=metric_id(app, metric_name),
        sort_key=sort_key(ts_ms, canonical),
        ts_ms=ts_ms,
        dims=canonical,
        dimensions=tuple(sorted(dimensions)),
        value=decimal_value(value),
        unit=unit,
        app=app,
        metric_name=metric_name,
        received_at=received_at_ms,
        ttl=(ts_ms + retention_days * MS_PER_DAY) // 1000,
    )


def dedupe(items: Sequence[MetricItem]) -> tuple[list[MetricItem], list[list[int]]]:
    """Collapse items with the same key (the last one wins, as sequential puts would).

    Returns the unique items and, for each, the positions in ``items`` it stands for, so a failure
    to write one unique item can be reported against every original position. DynamoDB rejects a
    BatchWriteItem call that holds the same key twice, hence this step.
    """
    slot: dict[tuple[str, int], int] = {}
    unique: list[MetricItem] = []
    groups: list[list[int]] = []
    for pos, item in enumerate(items):
        at = slot.get(item.key)
        if at is None:
            slot[item.key] = len(unique)
            unique.append(item)
            groups.append([pos])
        else:
            unique[at] = item
            groups[at].append(pos)
    return unique, groups
