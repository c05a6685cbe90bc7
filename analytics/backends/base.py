"""The backend protocol: what every page may ask, answered alike by ``aws`` and ``local``.

Pages never see which backend is live; the contract tests in ``tests/backends`` run the same
cases against both. This module holds the metric protocol. Each other concern declares its
protocol beside its data-layer module: ``analytics.alarms.AlarmsBackend``,
``analytics.custom_metrics.CustomMetricsSource``, ``analytics.coldstarts.ColdStartSource``, the
Cost Explorer trio used by ``analytics.cost_queries`` and ``discover_resources`` used by
``analytics.discovery``. ``tests/backends/test_protocol_parity.py`` checks that both backends
implement all of them with the same parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import pandas as pd

from analytics.specs import TIDY_COLUMNS, MetricQuery


@runtime_checkable
class Backend(Protocol):
    #: "aws" or "local"
    name: str

    def describe(self) -> str:
        """One line for the page footer: which backend and where its data comes from."""
        ...

    def get_metric_data(self, queries: Sequence[MetricQuery], start: datetime,
                        end: datetime) -> pd.DataFrame:
        """Tidy frame (timestamp, app, resource, metric, stat, value) for ``[start, end)``.

        Buckets start at ``start`` and step by each query's period, like GetMetricData with
        an aligned StartTime. Buckets without data are absent (CloudWatch returns no point).
        """
        ...


def empty_tidy() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in TIDY_COLUMNS})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype("float64")
    return frame


def tidy(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """Build the tidy frame from (timestamp, app, resource, metric, stat, value) rows."""
    if not rows:
        return empty_tidy()
    frame = pd.DataFrame(rows, columns=TIDY_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype("float64")
    return frame.sort_values(["app", "resource", "metric", "stat", "timestamp"],
                             ignore_index=True)
