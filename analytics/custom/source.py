"""What any backend must answer about custom metrics (DynamoDB on aws, DuckDB locally)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd

from analytics.core.catalog import App


class CustomSource(Protocol):
    @property
    def listing_ttl_s(self) -> float:
        """How long a list of metric names may be reused: as long as the backend itself takes
        to show a new name (CloudWatch's ListMetrics, minutes), or the realtime refresh where
        listing is one cheap query (the local table)."""
        ...

    def metric_names(self, app: App) -> list[str]:
        """Names of the app's custom metrics, sorted."""
        ...

    def metric_stats(self, app_id: str, metric_name: str, *, start_ms: int, end_ms: int,
                     period: int, stat: str, dims: str | None, now_ms: int,
                     dims_in: Sequence[str] | None = None) -> pd.DataFrame:
        """Tidy frame of ``stat`` per period bucket and dimension set over ``[start, end)``;
        ``dims`` (a canonical string) keeps only that dimension set, ``dims_in`` only those;
        TTL-expired points are ignored."""
        ...

    def recent_points(self, app_id: str, metric_names: Sequence[str], *, since_ms: int,
                      until_ms: int, now_ms: int) -> pd.DataFrame:
        """Raw points (:data:`~analytics.custom.keys.RECENT_COLUMNS`) of those metrics with
        ``since <= ts <= until``."""
        ...


class HasCustom(Protocol):
    """Sources holding this concern's source (what its service needs of a runtime)."""

    @property
    def custom(self) -> CustomSource: ...
