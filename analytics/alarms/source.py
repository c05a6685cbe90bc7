"""What any backend must answer about alarms: the list, one alarm's history, its metric.

The aws source reads CloudWatch (DescribeAlarms, DescribeAlarmHistory, GetMetricData); the local
source evaluates the catalog's rules on the store with CloudWatch's rules. Both answer in the
shapes of :mod:`analytics.alarms.rules`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import pandas as pd

from analytics.alarms.config import AlarmConfig
from analytics.alarms.rules import AlarmInfo, Transition
from analytics.core.catalog import App


class AlarmHistoryPending(RuntimeError):
    """The app's alarm history is still being evaluated in the background (a first start of
    the local backend); asked again later, it answers."""


class AlarmsSource(Protocol):
    @property
    def history_pending(self) -> bool:
        """Whether some alarm history is still being evaluated in the background: until it is
        done, an app not evaluated yet raises :class:`AlarmHistoryPending` instead of making
        a page wait."""
        ...

    def alarm_infos(self, app: App, config: AlarmConfig) -> list[AlarmInfo]:
        """Every alarm of the app with its state, since when and why."""
        ...

    def alarm_transitions(self, app: App, config: AlarmConfig, alarm_name: str, *,
                          start: datetime, end: datetime) -> list[Transition]:
        """State changes of one alarm within ``[start, end)``, oldest first."""
        ...

    def alarm_metric(self, info: AlarmInfo, *, start: datetime, end: datetime,
                     period: int | None = None) -> pd.Series:
        """The alarm's datapoints over ``[start, end)`` at ``period`` (default: the alarm's),
        timestamp -> value."""
        ...


class HasAlarms(Protocol):
    """Sources holding this concern's source (what its service needs of a runtime)."""

    @property
    def alarms(self) -> AlarmsSource: ...
