"""The catalog's alarm rules evaluated on the local store with CloudWatch's rules.

Evaluation is on demand, over the last 14 days (what CloudWatch keeps of alarm history): one
``get_metric_data`` call per alarm period for all of an app's rules, then
:func:`analytics.alarms.rules.run` per alarm. Each alarm is "created" when the store's data
starts, so it is INSUFFICIENT_DATA for its first N periods, exactly like a fresh alarm. Results
are kept per (rules, period) and extended as periods complete, so a refresh only reads the
last minutes and the Overview, the sidebar badge and the Alarms page share one evaluation.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache

from analytics.alarms.config import AlarmConfig, AlarmRule
from analytics.alarms.rules import AlarmInfo, Run, Transition, run
from analytics.core.catalog import App
from analytics.core.periods import align_down, as_utc, utcnow
from analytics.metrics.source import MetricsSource

#: CloudWatch keeps alarm history for two weeks; the local evaluation looks back as far.
LOOKBACK = timedelta(days=14)
#: A period is evaluated once its last per-minute counts are surely written (they become
#: available when their minute ends; the simulator ticks every few seconds).
EVAL_DELAY = timedelta(seconds=60)

Evaluated = dict[str, tuple[AlarmRule, Run]]


@dataclass(frozen=True)
class _Track:
    """The kept evaluation of one (rules, period) group up to ``end``."""

    created: datetime
    end: datetime
    stamps: list[datetime]
    values: dict[str, list[float | None]]
    runs: dict[str, Run]


class LocalAlarms:
    """Keeps each (rules, period) evaluation and extends it as periods complete."""

    def __init__(self, *, metrics: MetricsSource, clock: Callable[[], datetime] = utcnow
                 ) -> None:
        self.metrics = metrics
        self.clock = clock
        self._lock = threading.Lock()  # one evaluation at a time: sessions wait and share it
        self._tracks: LRUCache[Any, _Track] = LRUCache(maxsize=64)

    def _evaluate_period(self, rules: list[AlarmRule], period: int, end: datetime,
                         track: _Track | None) -> _Track:
        """Evaluate ``rules`` (one period) up to ``end``, continuing ``track`` if given."""
        queries = list(dict.fromkeys(q for r in rules for q in r.queries))
        start = align_down(end - LOOKBACK, period) if track is None else track.end
        frame = self.metrics.get_metric_data(queries, start=start, end=end)
        if track is None:
            # The alarms exist from the first period holding any of the app's data.
            created = frame["timestamp"].min() if len(frame) else pd.Timestamp(start)
            track = _Track(created.to_pydatetime(), created.to_pydatetime(), [], {}, {})
        grid = pd.date_range(track.end, end, freq=f"{period}s", inclusive="left")
        stamps = track.stamps + list(grid.to_pydatetime())
        values, runs = dict(track.values), dict(track.runs)
        for rule in rules:
            new = rule.values(frame).reindex(grid).to_numpy(dtype="float64")
            values[rule.name] = track.values.get(rule.name, []) + [
                None if np.isnan(v) else float(v) for v in new]
            runs[rule.name] = run(
                values[rule.name],
                stamps,
                rule.evaluation,
                namespace=rule.namespace,
                resume=track.runs.get(rule.name),
            )
        return _Track(track.created, end, stamps, values, runs)

    def evaluate_alarms(self, config: AlarmConfig, *, now: datetime | None = None) -> Evaluated:
        """Every local alarm of ``config`` evaluated up to ``now``: name -> (rule, run).

        Per (rules, period) the evaluation is kept and only extended by the periods that
        completed since, so a refresh reads minutes of data, not 14 days. An earlier ``now``
        than the kept one is evaluated afresh (and not kept).
        """
        now = as_utc(now or self.clock())
        by_period: dict[int, list[AlarmRule]] = defaultdict(list)
        for rule in config.rules:
            by_period[rule.evaluation.period].append(rule)
        lock, tracks = self._lock, self._tracks
        out: Evaluated = {}
        for period, rules in by_period.items():
            end = align_down(now - EVAL_DELAY, period)
            key = (tuple(rules), period)
            with lock:
                track = tracks.get(key)
                if track is not None and track.end <= end:
                    if track.end < end:
                        track = self._evaluate_period(rules, period, end, track)
                        tracks[key] = track
                else:
                    fresh = self._evaluate_period(rules, period, end, None)
                    if track is None:
                        tracks[key] = fresh
                    track = fresh
            out.update({r.name: (r, track.runs[r.name]) for r in rules})
        return out

    # -- the alarms source ---------------------------------------------------------------------
    def alarm_infos(self, app: App, config: AlarmConfig) -> list[AlarmInfo]:
        """Current state of each of the app's local alarms, with since-when and why."""
        infos = []
        for name, (rule, result) in self.evaluate_alarms(config).items():
            last = result.transitions[-1] if result.transitions else None
            infos.append(AlarmInfo(
                app=app.id, name=name, state=result.state, since=result.since,
                reason=last.reason if last else "Unchecked: initial alarm creation",
                description=rule.description or rule.label,
                metric=rule.label, evaluation=rule.evaluation, unit=rule.unit, spec=rule,
            ))
        return infos

    def alarm_transitions(self, app: App, config: AlarmConfig, alarm_name: str, *,
                          start: datetime, end: datetime) -> list[Transition]:
        """State changes of one alarm within ``[start, end)``, oldest first."""
        evaluated = self.evaluate_alarms(config)
        if alarm_name not in evaluated:
            raise KeyError(f"app {app.id!r} has no alarm {alarm_name!r}")
        s, e = as_utc(start), as_utc(end)
        return [t for t in evaluated[alarm_name][1].transitions if s <= t.at < e]

    def alarm_metric(self, info: AlarmInfo, *, start: datetime, end: datetime,
                     period: int | None = None) -> pd.Series:
        """The alarm's datapoints over ``[start, end)`` at its period (timestamp -> value).

        Local rules have minute periods, which the simulator keeps for its whole history, so
        ``period`` never needs to differ from the rule's.
        """
        rule: AlarmRule = info.spec
        return rule.values(self.metrics.get_metric_data(rule.queries, start=start, end=end))
