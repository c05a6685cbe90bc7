"""The one door to metrics for every page, the API and the pipeline: cached and access-filtered.

A whole page's queries go to the source in a single ``get_metric_data`` call (the aws source
packs up to 500 per GetMetricData request), keyed on the aligned range so concurrent viewers
share one upstream call. Notes the source attached to its answer (a series AWS refused) are
handed to the running page every time the answer is served, cached or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from analytics.core import access
from analytics.core.cache import Cached
from analytics.core.notes import note
from analytics.core.runtime import RuntimeOf
from analytics.metrics.frames import NOTES
from analytics.metrics.queries import MetricQuery
from analytics.metrics.source import HasMetrics

MetricsRuntime = RuntimeOf[HasMetrics]


def fetch_metrics(rt: MetricsRuntime, queries: Sequence[MetricQuery], *, start: datetime,
                  end: datetime, kind: str = "metrics") -> Cached[pd.DataFrame]:
    """Tidy frame for ``queries`` over ``[start, end)``, cached by query set and range.

    Queries for apps the current principal may not see are dropped before anything is fetched.
    """
    qs = tuple(q for q in queries if access.allowed(q.app))
    key = (qs, int(start.timestamp()), int(end.timestamp()))
    cached = rt.cache.get(kind, key, lambda: rt.sources.metrics.get_metric_data(
        qs, start=start, end=end))
    note(*cached.value.attrs.get(NOTES, ()))
    return cached
