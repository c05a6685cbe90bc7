"""Alarms for on-call: what fires, since when, how it got there — through the shared cache.

Why per-app cache entries: the Overview (counts), the sidebar badge (every page) and the Alarms
page all read the same ``("alarms", app)`` entries, so however many sessions are open an app
costs one DescribeAlarms sweep (or one local evaluation step) per 60 s. A failed refresh serves
the last list marked stale. Every entry point filters apps with :mod:`analytics.core.access` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from analytics.alarms.config import AlarmConfig, parse_alarms
from analytics.alarms.rules import ALARM, AlarmInfo, Transition, sort_key
from analytics.alarms.source import AlarmHistoryPending, HasAlarms
from analytics.core import access
from analytics.core.cache import Cached, UpstreamError
from analytics.core.catalog import App
from analytics.core.periods import MINUTE, align_down, align_up, as_utc, period_is_valid
from analytics.core.runtime import RuntimeOf

AlarmsRuntime = RuntimeOf[HasAlarms]

#: Periods of metric drawn before and after a transition.
WINDOW_BEFORE, WINDOW_AFTER = 24, 12
#: Above this many periods a range's metric is drawn as the worst value per wider bucket.
MAX_DRAWN_POINTS = 1500


def config_for(rt: AlarmsRuntime, app: App) -> AlarmConfig:
    """The app's alarm configuration; :class:`AlarmConfigError` names file, app and field."""
    return parse_alarms(app, rt.catalog.path)


def _key(cfg: AlarmConfig) -> tuple[Any, ...]:
    return (cfg.app, cfg.prefix, tuple(sorted(cfg.tags.items())), cfg.rules)


def _app_alarms(rt: AlarmsRuntime, app: App) -> Cached[list[AlarmInfo]]:
    cfg = config_for(rt, app)
    return rt.cache.get("alarms", _key(cfg), lambda: rt.sources.alarms.alarm_infos(app, cfg))


def alarm_states(rt: AlarmsRuntime, apps: Sequence[App]) -> Cached[list[AlarmInfo]]:
    """Every alarm of the visible ``apps``: ALARM, then INSUFFICIENT_DATA, then OK.

    Within a state the most recent change comes first. If some apps fail with nothing cached,
    the others are still returned, marked stale with the failure; if all fail,
    :class:`UpstreamError` is raised.
    """
    apps = access.filter_apps(apps)
    infos: list[AlarmInfo] = []
    fetched: list[float] = []
    errors: list[str] = []
    stale = False
    for app in apps:
        try:
            c = _app_alarms(rt, app)
        except UpstreamError as exc:
            if not isinstance(exc.__cause__, AlarmHistoryPending):  # pending is not a failure
                errors.append(f"{app.id}: {exc}")
            continue
        infos += c.value
        fetched.append(c.fetched_at)
        stale |= c.stale
        if c.error:
            errors.append(f"{app.id}: {c.error}")
    if apps and not fetched and errors:
        raise UpstreamError("; ".join(errors))
    return Cached(sorted(infos, key=sort_key), min(fetched, default=0.0),
                  stale or bool(errors), "; ".join(errors) or None)


def history_pending(rt: AlarmsRuntime) -> bool:
    """Whether some apps' alarm history is still being evaluated (a first local start): their
    alarms are left out until it is done, not reported as failures."""
    return rt.sources.alarms.history_pending


def firing_counts(rt: AlarmsRuntime, apps: Sequence[App]) -> dict[str, int]:
    """Alarms in ALARM per visible app; an app whose alarms cannot be read is left out."""
    out: dict[str, int] = {}
    for app in access.filter_apps(apps):
        try:
            out[app.id] = sum(a.state == ALARM for a in _app_alarms(rt, app).value)
        except (UpstreamError, ValueError):
            continue
    return out


def find_alarm(rt: AlarmsRuntime, app_id: str, alarm_name: str) -> AlarmInfo:
    """One alarm of an app the user may see; KeyError if the app has no such alarm."""
    access.require(app_id)
    app = rt.catalog.get(app_id)
    for info in _app_alarms(rt, app).value:
        if info.name == alarm_name:
            return info
    raise KeyError(f"application {app_id!r} has no alarm named {alarm_name!r}")


def alarm_history(rt: AlarmsRuntime, app_id: str, alarm_name: str, *, start: datetime,
                  end: datetime) -> Cached[list[Transition]]:
    """The alarm's state changes within ``[start, end)``, oldest first (cached 5 min)."""
    find_alarm(rt, app_id, alarm_name)  # access check, and only the app's own alarms
    app = rt.catalog.get(app_id)
    cfg = config_for(rt, app)
    s, e = as_utc(start), as_utc(end)
    key = (_key(cfg), alarm_name, int(s.timestamp()), int(e.timestamp()))
    return rt.cache.get("alarm_history", key, lambda: rt.sources.alarms.alarm_transitions(
        app, cfg, alarm_name, start=s, end=e))


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    state: str


def state_segments(info: AlarmInfo, transitions: Sequence[Transition], *, start: datetime,
                   end: datetime) -> list[Segment]:
    """The alarm's state over ``[start, end)`` as contiguous segments, for a timeline.

    Before the first transition in range the alarm was in that transition's old state; with
    no transition in range it was in its current state if that began before ``end``.
    """
    s, e = as_utc(start), as_utc(end)
    if transitions:
        state = transitions[0].old
    elif info.since < e:
        state = info.state
    else:
        state = "unknown"
    segments: list[Segment] = []
    # With no transition in range and a state that began inside it, draw from that moment.
    cursor = info.since if not transitions and s < info.since < e else s
    for t in transitions:
        if t.at > cursor:
            segments.append(Segment(cursor, min(t.at, e), state))
        cursor, state = max(cursor, t.at), t.new
    if cursor < e:
        segments.append(Segment(cursor, e, state))
    return segments


@dataclass(frozen=True)
class MetricWindow:
    """An alarm's datapoints over ``[start, end)`` with the threshold; ``moment`` marks one
    instant (a transition) when the window was cut around it."""

    info: AlarmInfo
    series: pd.Series = field(compare=False)
    start: datetime
    end: datetime
    moment: datetime | None
    note: str = ""
    #: Seconds per drawn point: the alarm's period, 60 s for a high-resolution alarm whose
    #: 10-second data has aged out, or wider buckets over long ranges.
    bucket: int = 0
    #: True when a point is the worst of several periods rather than one period's value.
    worst_of_bucket: bool = False


def _no_metric(info: AlarmInfo) -> str:
    return ("a composite alarm has no metric of its own; see the alarms in its rule"
            if info.kind == "composite" else "this alarm has no plain threshold to draw")


def _readable_period(period: int, start: datetime, now: datetime) -> tuple[int, str]:
    """The period CloudWatch still has for data from ``start`` on: high-resolution datapoints
    are kept 3 hours, then only as 1-minute aggregates, so an older window is drawn at 60 s."""
    if period < MINUTE and not period_is_valid(period, start, now, high_resolution=True):
        return MINUTE, (f"CloudWatch keeps {period}-second datapoints for 3 hours; this window "
                        "is older, so it is drawn at 1-minute resolution")
    return period, ""


def worst_per_bucket(series: pd.Series, *, period: int, symbol: str, start: datetime,
                     max_points: int = MAX_DRAWN_POINTS) -> tuple[pd.Series, int]:
    """At most ``max_points`` points: the value nearest to breaching in each wider bucket
    (max for ``>``/``>=`` thresholds, min for ``<``/``<=``), so no breach disappears."""
    n = len(series)
    if n <= max_points:
        return series, period
    width = period * -(-n // max_points)
    epoch = pd.DatetimeIndex(series.index).as_unit("s").asi8  # epoch seconds (UTC index)
    keys = (epoch - int(as_utc(start).timestamp())) // width
    grouped = series.groupby(keys)
    worst = grouped.max() if ">" in symbol else grouped.min()
    worst.index = pd.DatetimeIndex(
        [pd.Timestamp(start) + pd.Timedelta(seconds=float(k) * width) for k in worst.index])
    return worst, width


def alarm_metric_range(rt: AlarmsRuntime, app_id: str, alarm_name: str, *, start: datetime,
                       end: datetime) -> Cached[MetricWindow]:
    """The alarm's metric over ``[start, end)`` (the page's range), at the alarm's period, or
    as the worst value per wider bucket when that would be more than ``MAX_DRAWN_POINTS``."""
    info = find_alarm(rt, app_id, alarm_name)
    if info.evaluation is None or info.spec is None:
        empty = pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
        return Cached(MetricWindow(info, empty, start, end, None, _no_metric(info)), rt.clock())
    ev = info.evaluation
    period, aged = _readable_period(ev.period, as_utc(start), rt.now())
    s, e = align_down(as_utc(start), period), align_up(as_utc(end), period)

    def load() -> MetricWindow:
        raw = rt.sources.alarms.alarm_metric(
            info, start=s, end=e, period=None if period == ev.period else period)
        drawn, width = worst_per_bucket(raw, period=period, symbol=ev.symbol, start=s)
        note = aged if width == period else (
            f"Metric drawn as the worst value per {width // 60}-minute bucket "
            f"({len(raw):,} periods in range).")
        return MetricWindow(info, drawn, s, e, None, note, width, width != period)

    key = ("alarm_metric_range", app_id, alarm_name, int(s.timestamp()), int(e.timestamp()),
           period)
    return rt.cache.get("metrics", key, load)


def alarm_metric_window(rt: AlarmsRuntime, app_id: str, alarm_name: str, *,
                        around: datetime | None = None, now: datetime | None = None
                        ) -> Cached[MetricWindow]:
    """The alarm's metric from 24 periods before to 12 after ``around`` (default: since)."""
    info = find_alarm(rt, app_id, alarm_name)
    moment = as_utc(around or info.since)
    if info.evaluation is None or info.spec is None:
        empty = pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
        return Cached(MetricWindow(info, empty, moment, moment, moment, _no_metric(info)),
                      rt.clock())
    now = now or rt.now()
    period = info.evaluation.period
    start, end = _window(moment, period, now)
    period, note = _readable_period(period, start, now)
    if note:
        start, end = _window(moment, period, now)
    key = ("alarm_metric", app_id, alarm_name, int(start.timestamp()), int(end.timestamp()),
           period)
    return rt.cache.get("metrics", key, lambda: MetricWindow(
        info, rt.sources.alarms.alarm_metric(info, start=start, end=end, period=period),
        start, end, moment, note, period))


def _window(moment: datetime, period: int, now: datetime) -> tuple[datetime, datetime]:
    """From 24 periods before ``moment`` to 12 after, never past the last complete period."""
    step = timedelta(seconds=period)
    start = align_down(moment - WINDOW_BEFORE * step, period)
    end = min(align_up(moment + WINDOW_AFTER * step, period), align_down(now, period))
    return start, max(end, start + step)
