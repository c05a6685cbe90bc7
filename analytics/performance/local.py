"""Lambda cold starts from the simulator's samples, and (no) tag discovery.

The simulator writes one ``InitDuration`` sample per cold start under
:data:`analytics.metrics.queries.COLD_START_NAMESPACE` (dimension ``FunctionName``), so the metric
query machinery answers what Logs Insights answers on aws: ``SampleCount`` is the number of
cold starts and the percentiles of the values are the init durations. Invocations come from
``AWS/Lambda Invocations`` (Sum), all in one query over the whole window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from analytics.core.catalog import App, Resources
from analytics.metrics.queries import MetricQuery, cold_start_query, lambda_query
from analytics.metrics.source import MetricsSource
from analytics.performance.coldstarts import frame, row, whole_window_period

_LABEL = "cold-starts"  # the app column of the internal queries (not shown anywhere)


class LocalPerformance:
    """Cold starts through the local metrics source, which it is given."""

    cold_start_origin = "the simulator's init-duration samples"

    def __init__(self, *, metrics: MetricsSource) -> None:
        self.metrics = metrics

    def cold_starts(self, functions: Sequence[str], *, start: datetime,
                    end: datetime) -> pd.DataFrame:
        """Per function: invocations, cold starts, their share and p50/p95 init duration."""
        period = whole_window_period(start, end)
        queries: list[MetricQuery] = []
        for fn in functions:
            queries += [cold_start_query(_LABEL, fn, stat=s, period=period) for s in
                        ("SampleCount", "p50", "p95")]
            queries.append(lambda_query(_LABEL, fn, "Invocations", stat="Sum", period=period))
        data = self.metrics.get_metric_data(queries, start=start, end=end)
        got = {(r, m, s): float(v) for r, m, s, v in
               zip(data["resource"], data["metric"], data["stat"], data["value"], strict=True)}
        return frame([
            row(fn, got.get((fn, "Invocations", "Sum")),
                got.get((fn, "InitDuration", "SampleCount")),
                p50=got.get((fn, "InitDuration", "p50")), p95=got.get((fn, "InitDuration", "p95")),
                log_source="simulator")
            for fn in functions
        ])

    def discover_resources(self, app: App) -> Resources:
        """No tags locally: the catalog's resources are all there is (nothing when empty)."""
        return app.resources
