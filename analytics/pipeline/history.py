"""Long ranges (90 days, 1 and 2 years) stitched from rollups and the live sources, day by day.

The rule that makes the seam exact: every (app, day) is read from exactly one place — its
rollup when the pipeline stored one, else the live source (CloudWatch, Cost Explorer) when it
still keeps that day, else nothing. Both hold the same thing, a day's own statistics at a
one-day period (:func:`analytics.pipeline.steps.daily_queries`), so a day reads the same on
either side: no gap at the seam, no day counted twice. Each app's segments say where its days
came from. A window's p95 cannot be rebuilt from daily p95s (percentiles do not add), so the
long view's p95 is the worst day's, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Protocol

import pandas as pd

from analytics.alarms.service import firing_counts
from analytics.alarms.source import HasAlarms
from analytics.core import access
from analytics.core.cache import Cached
from analytics.core.catalog import App
from analytics.core.periods import DAY, TimeRange
from analytics.core.runtime import HasBackend, RuntimeOf
from analytics.costs import queries as cost_queries
from analytics.costs.frames import DEFAULT_METRIC
from analytics.costs.source import HasCosts
from analytics.metrics.queries import TIDY_COLUMNS
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics
from analytics.overview.service import WINDOW_LATENCY, AppOverview, OverviewResult
from analytics.overview.service import build_app_overview as build_overview
from analytics.pipeline.model import UNASSIGNED, Rollup
from analytics.pipeline.source import HasRollups
from analytics.pipeline.steps import COSTS_KEPT_DAYS, METRICS_KEPT_DAYS, daily_queries

ROLLUPS = "pipeline rollups"
NO_DATA = "no data"
ROLLUP_TTL_S = 300.0


class HistorySources(HasBackend, HasMetrics, HasAlarms, HasCosts, HasRollups, Protocol):
    """What the stitched views read."""


HistoryRuntime = RuntimeOf[HistorySources]


@dataclass(frozen=True)
class Segment:
    """Days ``[start, end)`` of one app read from ``source``."""

    source: str
    start: date
    end: date

    def describe(self) -> str:
        last = self.end - timedelta(days=1)
        days = f"{self.start}" if last == self.start else f"{self.start} → {last}"
        return f"{days}: {self.source}"


def segments(days: Sequence[date], source_of: dict[date, str]) -> list[Segment]:
    """Consecutive days with the same source, as segments."""
    out = []
    for source, run in groupby(days, key=lambda d: source_of.get(d, NO_DATA)):
        run_days = list(run)
        out.append(Segment(source, run_days[0], run_days[-1] + timedelta(days=1)))
    return out


@dataclass(frozen=True)
class Plan:
    """Which days of each app the rollups answer and where the live read must start."""

    rolled: dict[str, set[date]]
    live_start: date | None  # None: no live read needed (or nothing live is kept)


def plan(app_ids: Sequence[str], rollups: Sequence[Rollup], *, start: date, end: date,
         live_floor: date) -> Plan:
    """Live covers each app's days after its newest rollup and any hole before it, from the
    first such day on (one read), but never before ``live_floor`` (what the source keeps)."""
    rolled: dict[str, set[date]] = {a: set() for a in app_ids}
    for r in rollups:
        if r.app in rolled and start <= r.day < end:
            rolled[r.app].add(r.day)
    first: list[date] = []
    for app in app_ids:
        days = rolled[app]
        seam = max(days) + timedelta(days=1) if days else start
        holes = (d for d in _days(start, seam) if d not in days)
        first.append(min(next(holes, seam), seam))
    live = max(min(first, default=end), live_floor)
    return Plan(rolled, live if live < end else None)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


@dataclass(frozen=True)
class Stitched:
    """A daily frame where every (app, day) comes from exactly one source."""

    frame: pd.DataFrame
    sources: dict[str, list[Segment]]
    fetched_at: float
    stale: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def read_rollups(rt: RuntimeOf[HasRollups], app_ids: Sequence[str], *, start: date,
                 end: date) -> Cached[list[Rollup]]:
    ids = tuple(app_ids)
    return rt.cache.get("rollups", (ids, start.isoformat(), end.isoformat()),
                        lambda: rt.sources.rollups.get_rollups(ids, start=start, end=end),
                        ttl=ROLLUP_TTL_S)


def _merge(parts: Sequence[Cached[object]]) -> tuple[float, bool, str | None]:
    errors = [p.error for p in parts if p.error]
    return (min(p.fetched_at for p in parts), any(p.stale for p in parts),
            errors[0] if errors else None)


def metric_days(rt: HistoryRuntime, apps: Sequence[App], *, start: date, end: date,
                today: date) -> Stitched:
    """Daily metric rows (the tidy frame, one timestamp per day) of ``apps`` over
    ``[start, end)``: rollups first, CloudWatch for the rest it still keeps."""
    apps = access.filter_apps(apps)
    ids = [a.id for a in apps]
    cached_r = read_rollups(rt, ids, start=start, end=end)
    p = plan(ids, cached_r.value, start=start, end=end,
             live_floor=today - timedelta(days=METRICS_KEPT_DAYS - 1))
    parts: list[Cached[object]] = [cached_r]
    rows: list[tuple[object, ...]] = []
    source_of: dict[str, dict[date, str]] = {a: {} for a in ids}
    for r in cached_r.value:
        if r.app in source_of:
            source_of[r.app][r.day] = ROLLUPS
            ts = pd.Timestamp(r.day.isoformat(), tz="UTC")
            rows += [(ts, r.app, res, m, s, v) for res, m, s, v in r.metrics]
    if p.live_start is not None:
        live = fetch_metrics(rt, daily_queries(apps), start=_midnight(p.live_start),
                             end=_midnight(end))
        parts.append(live)
        label = "CloudWatch" if rt.sources.backend == "aws" else "CloudWatch (local twin)"
        lv = live.value
        for row in zip(lv["timestamp"], lv["app"], lv["resource"], lv["metric"], lv["stat"],
                       lv["value"], strict=True):
            app, day = str(row[1]), row[0].date()
            if day in p.rolled.get(app, ()):
                continue  # the rollup answers this day
            source_of[app][day] = label
            rows.append(row)
    frame = pd.DataFrame(rows, columns=TIDY_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype("float64")
    days = _days(start, end)
    return Stitched(frame, {a: segments(days, source_of[a]) for a in ids}, *_merge(parts))


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


@dataclass(frozen=True)
class HistoryOverview:
    result: OverviewResult
    sources: dict[str, list[Segment]]


def overview_history(rt: HistoryRuntime, *, apps: Sequence[App], tr: TimeRange,
                     today: date) -> HistoryOverview:
    """The Overview's tiles over a long range and the previous one, from daily rows."""
    if tr.period != DAY:
        raise ValueError("the stitched overview needs whole-day ranges (history_range)")
    prev = tr.previous()
    start, end = prev.start.date(), tr.end.date()
    stitched = metric_days(rt, apps, start=start, end=end, today=today)
    frame = _with_window_p95(stitched.frame, tr)
    visible = access.filter_apps(apps)
    out: list[AppOverview] = []
    for app in visible:
        ov = build_overview(app, frame, tr)
        tiles = [replace(t, help=f"The worst day's p95 (CloudWatch's daily p95, worst API); "
                                 f"percentiles of days do not combine into the range's. "
                                 f"SLO {app.slo_p95_ms:g} ms") if t.key == "p95" else t
                 for t in ov.tiles]
        out.append(AppOverview(app, tiles))
    result = OverviewResult(out, stitched.fetched_at, stitched.stale, stitched.error,
                            firing_counts(rt, visible))
    cur = {a: [s for s in segs if s.end > tr.start.date()] for a, segs in stitched.sources.items()}
    return HistoryOverview(result, {a: _clip(segs, tr.start.date()) for a, segs in cur.items()})


def _clip(segs: list[Segment], start: date) -> list[Segment]:
    return [replace(s, start=max(s.start, start)) for s in segs]


def _with_window_p95(frame: pd.DataFrame, tr: TimeRange) -> pd.DataFrame:
    """Add the one-bucket-per-window latency rows the Overview reads: per API, its worst daily
    p95 in each window, stamped at the window's start."""
    lat = frame[(frame["metric"] == "Latency") & (frame["stat"] == "p95")]
    extra = []
    for window in (tr.previous(), tr):
        w = lat[(lat["timestamp"] >= pd.Timestamp(window.start))
                & (lat["timestamp"] < pd.Timestamp(window.end))]
        for (app, res), grp in w.groupby(["app", "resource"]):
            extra.append((pd.Timestamp(window.start), app, res, WINDOW_LATENCY, "p95",
                          float(grp["value"].max())))
    if not extra:
        return frame
    return pd.concat([frame, pd.DataFrame(extra, columns=TIDY_COLUMNS)], ignore_index=True)


def cost_days(rt: HistoryRuntime, apps: Sequence[App], *, start: date, end: date, today: date,
              metric: str = DEFAULT_METRIC) -> Stitched:
    """Daily cost (start, service, app, amount) over ``[start, end)``: rollups first, Cost
    Explorer for the rest it keeps. Admins seeing every app also get the unassigned spend
    (untagged and tags outside the catalog) as one line."""
    apps = access.filter_apps(apps)
    all_visible = {a.id for a in access.filter_apps(rt.catalog.apps)}
    ids = [a.id for a in apps]
    if cost_queries.is_admin() and set(ids) >= all_visible:
        ids.append(UNASSIGNED)
    cached_r = read_rollups(rt, ids, start=start, end=end)
    p = plan(ids, cached_r.value, start=start, end=end,
             live_floor=today - timedelta(days=COSTS_KEPT_DAYS))
    parts: list[Cached[object]] = [cached_r]
    rows: list[tuple[object, ...]] = []
    source_of: dict[str, dict[date, str]] = {a: {} for a in ids}
    for r in cached_r.value:
        if r.app in source_of:
            source_of[r.app][r.day] = ROLLUPS
            rows += [(r.day, svc, r.app, usd) for svc, usd in r.costs.get(metric, {}).items()]
    if p.live_start is not None:
        live = cost_queries.costs(rt, p.live_start, end, metric=metric)
        parts.append(live)
        catalog_ids = set(rt.catalog.ids())
        label = "Cost Explorer" if rt.sources.backend == "aws" else "Cost Explorer (local twin)"
        for day, svc, app, usd in zip(live.value["start"], live.value["service"],
                                      live.value["app"], live.value["amount"], strict=True):
            key = str(app) if app in catalog_ids else UNASSIGNED
            if key not in source_of or day in p.rolled.get(key, ()):
                continue
            source_of[key][day] = label
            rows.append((day, svc, key, float(usd)))
    frame = pd.DataFrame(rows, columns=["start", "service", "app", "amount"]).groupby(
        ["start", "service", "app"], as_index=False)[["amount"]].sum()
    days = _days(start, end)
    return Stitched(frame, {a: segments(days, source_of[a]) for a in ids}, *_merge(parts))
