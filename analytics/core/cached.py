"""What a cache read answers, and how long answers live: the shapes every layer sees.

Services, pages and the API hand these on (a ``Cached`` with its "as of", an ``UpstreamError``
when nothing good exists) without needing the cache's machinery in :mod:`analytics.core.cache`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

#: Covariant: a ``Cached`` is frozen, so a ``Cached[DataFrame]`` is a ``Cached[object]``.
T_co = TypeVar("T_co", covariant=True)

#: Seconds a value stays fresh, by query kind. Cost Explorer is priced per request and
#: refreshed at most three times a day, so it is cached for hours.
DEFAULT_TTLS: dict[str, float] = {
    "metrics": 60.0,
    "realtime": 2.0,
    # custom metrics on the Realtime page: the ingest path's own data, cheap to read again, so
    # a point (or a new name) is on the page within about a second of its 202
    "live": 1.0,
    "custom_metrics": 5.0,
    "alarms": 60.0,
    "alarm_history": 300.0,
    "costs": 6 * 3600.0,
    "logs": 600.0,
    "discovery": 3600.0,
}
FALLBACK_TTL = 60.0
#: Seconds a failed key (and a kind that overran a page deadline) is not waited for again.
NEGATIVE_TTL = 30.0
#: How an error says the value is late rather than failed (the page frame words it so).
STILL_LOADING = "still loading"


@dataclass(frozen=True)
class Cached(Generic[T_co]):
    """A cached value with its provenance, so pages can say "as of" and flag stale data."""

    value: T_co
    fetched_at: float
    stale: bool = False
    error: str | None = None


class UpstreamError(RuntimeError):
    """The upstream call failed and no earlier value exists to fall back on."""


class StillLoading(UpstreamError):
    """Not back within the page deadline and nothing cached: the load goes on in the background."""
