"""What any backend must answer about CloudWatch metrics.

Both sources (:mod:`analytics.metrics.aws`, :mod:`analytics.metrics.local`) answer with the same
tidy frame, bucketed exactly as GetMetricData buckets an aligned range; the contract tests in
``tests/backends`` hold them to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import pandas as pd

from analytics.metrics.queries import MetricQuery


class MetricsSource(Protocol):
    def get_metric_data(self, queries: Sequence[MetricQuery], *, start: datetime,
                        end: datetime) -> pd.DataFrame:
        """Tidy frame (timestamp, app, resource, metric, stat, value) for ``[start, end)``.

        Buckets start at ``start`` and step by each query's period, like GetMetricData with
        an aligned StartTime. Buckets without data are absent (CloudWatch returns no point).
        """
        ...


class HasMetrics(Protocol):
    """Sources holding this concern's source (what its service needs of a runtime)."""

    @property
    def metrics(self) -> MetricsSource: ...
