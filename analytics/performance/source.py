"""What any backend must answer for the Performance page besides metrics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import pandas as pd

from analytics.core.catalog import App, Resources


class PerformanceSource(Protocol):
    #: Where cold starts come from, for the page's caption.
    cold_start_origin: str

    def cold_starts(self, functions: Sequence[str], *, start: datetime,
                    end: datetime) -> pd.DataFrame:
        """Per function: invocations, cold starts, share, p50/p95 init duration
        (:data:`analytics.performance.coldstarts.COLUMNS`)."""
        ...

    def discover_resources(self, app: App) -> Resources:
        """Resources tagged ``Application=<cost_tag>`` (locally: the catalog's own)."""
        ...


class HasPerformance(Protocol):
    """Sources holding this concern's source (what its service needs of a runtime)."""

    @property
    def performance(self) -> PerformanceSource: ...
