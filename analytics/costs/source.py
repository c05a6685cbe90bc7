"""What any backend must answer about costs: Cost Explorer's three questions.

Dates are whole UTC days and every ``end`` is exclusive, as in GetCostAndUsage; the service
layer (:mod:`analytics.costs.queries`) caches the answers for hours because each aws request
costs $0.01.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

import pandas as pd

from analytics.costs.forecast import Forecast


class CostsSource(Protocol):
    def get_cost_and_usage(self, start: date, end: date, *, granularity: str = ...,
                           metric: str = ..., group_by: Sequence[str] = ...) -> pd.DataFrame:
        """The cost frame (start, service, tag, amount, estimated) over ``[start, end)``."""
        ...

    def get_cost_forecast(self, start: date, end: date, *, metric: str = ...,
                          tag: str | None = None, level: int = ...) -> Forecast | None:
        """Forecast of ``[start, end)`` for one tag (None: the account); None when too
        little history exists."""
        ...

    def get_cost_anomalies(self, start: date, end: date) -> pd.DataFrame:
        """Anomalies overlapping ``[start, end)`` (the anomaly frame)."""
        ...

    def cost_allocation_tag_status(self, key: str) -> str | None:
        """``"Active"`` or ``"Inactive"`` for a user-defined cost-allocation tag, None when
        billing has never seen it. Only an active tag groups costs."""
        ...


class HasCosts(Protocol):
    """Sources holding this concern's source (what its service needs of a runtime)."""

    @property
    def costs(self) -> CostsSource: ...
