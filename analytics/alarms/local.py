"""The catalog's alarm rules evaluated on the local store with CloudWatch's rules.

Evaluation covers the last 14 days (what CloudWatch keeps of alarm history): one
``get_metric_data`` call per alarm period for all of an app's rules, then
:func:`analytics.alarms.rules.run` per alarm. Each alarm is "created" when the store's data
starts, so it is INSUFFICIENT_DATA for its first N periods, exactly like a fresh alarm. Results
are kept per (rules, period) and extended as periods complete, so a refresh only reads the
last minutes and the Overview, the sidebar badge and the Alarms page share one evaluation.

With a store, each evaluation is also saved there (after it is first built, then every
``CHECKPOINT`` of new periods), so a restart resumes from the checkpoint instead of reading 14
days again. While a background warm-up runs (:meth:`LocalAlarms.warm_up`), an app it has not
reached raises :class:`AlarmHistoryPending` at once rather than making a page wait for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache

from analytics.alarms.config import AlarmConfig, AlarmRule
from analytics.alarms.rules import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmInfo,
    Run,
    Transition,
    run,
)
from analytics.alarms.source import AlarmHistoryPending
from analytics.core.catalog import App
from analytics.core.periods import align_down, as_utc, utcnow
from analytics.local.store import LocalStore
from analytics.metrics.source import MetricsSource

log = logging.getLogger(__name__)
#: CloudWatch keeps alarm history for two weeks; the local evaluation looks back as far.
LOOKBACK = timedelta(days=14)
#: A period is evaluated once its last per-minute counts are surely written (they become
#: available when their minute ends; the simulator ticks every few seconds).
EVAL_DELAY = timedelta(seconds=60)
#: A kept evaluation is saved again once it has grown by this much (a restart redoes at most it).
CHECKPOINT = timedelta(minutes=15)

Evaluated = dict[str, tuple[AlarmRule, Run]]
_LETTER = {ALARM: "A", INSUFFICIENT_DATA: "I", OK: "O"}
_STATE = {v: k for k, v in _LETTER.items()}


@dataclass(frozen=True)
class _Track:
    """The kept evaluation of one (rules, period) group up to ``end``."""

    created: datetime
    end: datetime
    stamps: list[datetime]
    values: dict[str, list[float | None]]
    runs: dict[str, Run]


def track_key(rules: Sequence[AlarmRule], period: int) -> str:
    """A stable name of one (rules, period) group: the same rules give the same key in every
    process, and an edited rule gives another (its old evaluation is then not reused)."""
    return hashlib.sha256(repr((tuple(rules), period)).encode()).hexdigest()[:32]


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def dump_track(track: _Track, period: int) -> str:
    """The track as JSON: stamps are implied (``created`` + i x ``period``)."""
    return json.dumps({
        "created": _ms(track.created), "end": _ms(track.end), "period": period,
        "n": len(track.stamps), "values": track.values,
        "runs": {name: {"created": _ms(r.created_at),
                        "states": "".join(_LETTER[s] for s in r.states),
                        "transitions": [[_ms(t.at), t.old, t.new, t.reason]
                                        for t in r.transitions]}
                 for name, r in track.runs.items()},
    }, separators=(",", ":"))


def load_track(text: str, period: int) -> _Track:
    raw = json.loads(text)
    if raw["period"] != period:
        raise ValueError("period changed")
    created = _at(raw["created"])
    step = timedelta(seconds=period)
    stamps = [created + i * step for i in range(raw["n"])]
    runs = {name: Run([_STATE[c] for c in r["states"]],
                      [Transition(_at(at), old, new, reason)
                       for at, old, new, reason in r["transitions"]], _at(r["created"]))
            for name, r in raw["runs"].items()}
    return _Track(created, _at(raw["end"]), stamps, raw["values"], runs)


class LocalAlarms:
    """Keeps each (rules, period) evaluation and extends it as periods complete."""

    def __init__(self, *, metrics: MetricsSource, clock: Callable[[], datetime] = utcnow,
                 store: LocalStore | None = None) -> None:
        self.metrics = metrics
        self.clock = clock
        self.store = store  # where evaluations are kept across restarts (None: memory only)
        self._lock = threading.Lock()  # guards the dicts below, never held while evaluating
        self._key_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._tracks: LRUCache[Any, _Track] = LRUCache(maxsize=64)
        self._saved: dict[str, datetime] = {}
        self._warming = False

    @property
    def history_pending(self) -> bool:
        return self._warming

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

    # -- keeping evaluations across restarts -----------------------------------------------
    def _stored(self, key: str, period: int, end: datetime) -> _Track | None:
        if self.store is None:
            return None
        row = self.store.cursor().execute(
            "SELECT payload FROM alarm_tracks WHERE key = ?", [key]).fetchone()
        if row is None:
            return None
        try:
            track = load_track(str(row[0]), period)
        except (ValueError, KeyError, TypeError) as exc:  # an old format: evaluate afresh
            log.warning("kept alarm evaluation %s not reused: %s", key, exc)
            return None
        if track.end > end:  # kept from a later "now" than this one (a clock set back)
            return None
        self._saved[key] = track.end
        return track

    def _save(self, key: str, track: _Track, period: int, *, force: bool) -> None:
        if self.store is None:
            return
        saved = self._saved.get(key)
        if not force and saved is not None and track.end - saved < CHECKPOINT:
            return
        with self.store.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO alarm_tracks VALUES (?, ?, ?)",
                        [key, _ms(track.end), dump_track(track, period)])
        self._saved[key] = track.end

    # -- evaluating --------------------------------------------------------------------------
    def _track_for(self, rules: list[AlarmRule], period: int, end: datetime, *,
                   wait: bool) -> _Track:
        key = track_key(rules, period)
        with self._lock:
            lock = self._key_locks[key]
        if not lock.acquire(blocking=wait):
            raise AlarmHistoryPending("the alarm history is being evaluated in the background")
        try:
            with self._lock:
                track = self._tracks.get(key)
            if track is not None and track.end > end:
                return self._evaluate_period(rules, period, end, None)  # an earlier now
            fresh = track is None
            if track is None:
                track = self._stored(key, period, end)
            if track is None and not wait:
                raise AlarmHistoryPending("the alarm history is being evaluated in the "
                                          "background")
            if track is None or track.end < end:
                track = self._evaluate_period(rules, period, end, track)
                self._save(key, track, period, force=fresh)
            with self._lock:
                self._tracks[key] = track
            return track
        finally:
            lock.release()

    def evaluate_alarms(self, config: AlarmConfig, *, now: datetime | None = None) -> Evaluated:
        """Every local alarm of ``config`` evaluated up to ``now``: name -> (rule, run).

        Per (rules, period) the evaluation is kept and only extended by the periods that
        completed since, so a refresh reads minutes of data, not 14 days. An earlier ``now``
        than the kept one is evaluated afresh (and not kept). While a warm-up runs, a group
        nobody has evaluated yet raises :class:`AlarmHistoryPending` instead of waiting.
        """
        return self._evaluate(config, now=now, wait=not self._warming)

    def _evaluate(self, config: AlarmConfig, *, now: datetime | None, wait: bool) -> Evaluated:
        now = as_utc(now or self.clock())
        by_period: dict[int, list[AlarmRule]] = defaultdict(list)
        for rule in config.rules:
            by_period[rule.evaluation.period].append(rule)
        out: Evaluated = {}
        for period, rules in by_period.items():
            track = self._track_for(rules, period, align_down(now - EVAL_DELAY, period),
                                    wait=wait)
            out.update({r.name: (r, track.runs[r.name]) for r in rules})
        return out

    @contextlib.contextmanager
    def warming(self) -> Iterator[None]:
        """While inside, pages get :class:`AlarmHistoryPending` for history not evaluated yet."""
        self._warming = True
        try:
            yield
        finally:
            self._warming = False

    def warm_up(self, config: AlarmConfig) -> None:
        """Evaluate (or resume from the store) ``config``'s alarms up to now (background)."""
        self._evaluate(config, now=None, wait=True)

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
