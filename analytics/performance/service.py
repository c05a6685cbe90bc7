"""The Performance page's service: one metrics fetch, cold starts and tag discovery, cached.

Every entry point checks access first. Cold starts (Logs Insights on aws: billed per GB and
slow) are cached 10 minutes and only asked for when the Lambda section is open; discovered
resources (the Tagging API is throttled per account) are cached an hour and served stale when a
refresh fails.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Protocol

import pandas as pd
from cachetools import LRUCache

from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.core.catalog import App
from analytics.core.fmt import zone_name
from analytics.core.periods import TimeRange
from analytics.core.runtime import RuntimeOf
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics
from analytics.performance.coldstarts import ColdStarts, frame
from analytics.performance.discovery import TAG_KEY, Resolved
from analytics.performance.page import (
    DiscoveryNote,
    PerfPage,
    build_sections,
    fetch_window,
    page_queries,
)
from analytics.performance.sections import Section
from analytics.performance.source import HasPerformance


@dataclass(frozen=True)
class _Built:
    frame: pd.DataFrame  # the cached answer they were built from (compared by identity)
    serial: int  # unique per build: the page's token, so drawings built from it can be kept
    sections: tuple[Section, ...]


#: Sections already built, by page options, with the answer they were built from: every view of
#: the same answer (a page switch, another tab, a rerun) reuses them instead of deriving dozens
#: of series again; a new answer in the shared cache is built afresh.
_built: LRUCache[tuple[object, ...], _Built] = LRUCache(maxsize=32)
_built_lock = threading.Lock()
_serials = itertools.count(1)


class PerformanceSources(HasMetrics, HasPerformance, Protocol):
    """The sources the Performance page reads."""


PerformanceRuntime = RuntimeOf[PerformanceSources]


def resolve(rt: PerformanceRuntime, app: App) -> Resolved:
    """The catalog's resources, or — when it lists none — those tagged with the app's tag.

    The source's ``discover_resources(app)`` does the lookup (aws: the Tagging API; local:
    the catalog's resources, i.e. nothing); the answer is cached an hour and served stale if a
    refresh fails.
    """
    access.require(app.id)
    if not app.resources.empty:
        return Resolved(app.resources, False)
    tag = f"{TAG_KEY}={app.cost_tag}"
    cached = rt.cache.get("discovery", (app.id, app.cost_tag),
                          lambda: rt.sources.performance.discover_resources(app))
    return Resolved(cached.value, True, tag, cached.fetched_at, cached.stale, cached.error)


def resolve_app(rt: PerformanceRuntime, app: App) -> tuple[App, DiscoveryNote | None]:
    """The app with the resources to show, discovering them when the catalog lists none."""
    try:
        found = resolve(rt, app)
    except UpstreamError as exc:
        # Nothing cached and the lookup failed: show the empty states and say why.
        return app, DiscoveryNote(f"{TAG_KEY}={app.cost_tag}", 0, 0.0, False, str(exc))
    if not found.discovered:
        return app, None
    return (app.model_copy(update={"resources": found.resources}),
            DiscoveryNote(found.tag, found.count, found.fetched_at, found.stale, found.error))


def performance(rt: PerformanceRuntime, app: App, *, tr: TimeRange, compare: bool = False,
                tz: tzinfo = UTC) -> PerfPage:
    """The Performance page of ``app`` over ``tr``: one metrics fetch, one section per service.

    Raises :class:`analytics.core.access.AccessDenied` for an app the user may not see, and
    :class:`analytics.core.cache.UpstreamError` when the source fails with nothing cached.
    """
    access.require(app.id)
    shown, note = resolve_app(rt, app)
    queries = page_queries(shown, tr)
    window = fetch_window(tr, compare)
    cached = fetch_metrics(rt, queries, start=window.start, end=window.end)
    key = (shown, tr.key(), compare, zone_name(tz), note is not None)
    with _built_lock:
        kept = _built.get(key)
    if kept is not None and kept.frame is cached.value:  # built from this very answer
        serial, sections = kept.serial, kept.sections
    else:
        sections = build_sections(shown, tr, cached.value, compare=compare,
                                  discovered=note is not None, tz=tz)
        with _built_lock:
            serial = next(_serials)
            _built[key] = _Built(cached.value, serial, sections)
    return PerfPage(shown, tr, compare, sections, len(queries), cached.fetched_at, cached.stale,
                    cached.error, note, (shown.id, serial))


def cold_starts(rt: PerformanceRuntime, app: App, *, tr: TimeRange) -> ColdStarts:
    """Cold starts of every function of ``app`` over ``tr`` (cached 10 minutes).

    Raises :class:`analytics.core.cache.UpstreamError` if the query fails with nothing cached
    (e.g. a Logs Insights time-out: the message says so).
    """
    access.require(app.id)
    source = rt.sources.performance
    fns = tuple(app.resources.lambdas)
    if not fns:
        return ColdStarts(frame([]), source.cold_start_origin, 0.0)
    key = (app.id, fns, int(tr.start.timestamp()), int(tr.end.timestamp()))
    cached = rt.cache.get("logs", key, lambda: source.cold_starts(fns, start=tr.start,
                                                                  end=tr.end))
    return ColdStarts(cached.value, source.cold_start_origin, cached.fetched_at, cached.stale,
                      cached.error)
