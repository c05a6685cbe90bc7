"""Start-up work of the local backend done in the background, so the first page view does not
wait for it: the default Overview's metrics batch, then each app's 14-day alarm evaluation.

The evaluations are kept in the store (see :mod:`analytics.alarms.local`), so after a restart
this only reads the minutes since the last checkpoint. While it runs, a page asking for an app
not evaluated yet is told so at once (its alarms show as pending) instead of waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from analytics.alarms.local import LocalAlarms
from analytics.alarms.service import alarm_states, config_for
from analytics.alarms.source import HasAlarms
from analytics.core.periods import DEFAULT_PRESET, preset_range
from analytics.core.runtime import RuntimeOf
from analytics.metrics.service import fetch_metrics
from analytics.metrics.source import HasMetrics
from analytics.overview.service import overview_queries

log = logging.getLogger(__name__)


class WarmSources(HasMetrics, HasAlarms, Protocol):
    """What the warm-up reads: the metrics and the alarms."""


#: Seconds the warm-up steps aside between two apps, so a page being drawn meanwhile gets the
#: interpreter (the evaluation is Python and numpy work that holds the GIL).
PAUSE_S = 0.2


def warm_up(rt: RuntimeOf[WarmSources], *,
            pause: Callable[[float], None] = time.sleep) -> float:
    """Do the first view's work now, one app at a time; returns the seconds it took."""
    started = time.perf_counter()
    apps = list(rt.catalog.apps)
    tr = preset_range(DEFAULT_PRESET, rt.now())
    try:
        fetch_metrics(rt, overview_queries(apps, tr), start=tr.previous().start, end=tr.end)
    except Exception:  # the page will ask again and say what failed
        log.exception("warm-up: the Overview's metrics could not be read")
    source = rt.sources.alarms
    if isinstance(source, LocalAlarms):
        with source.warming():
            for app in apps:  # one app at a time: each is ready as soon as it is done
                try:
                    source.warm_up(config_for(rt, app))
                except Exception:  # a bad rule is reported on the page
                    log.exception("warm-up: alarms of %s not evaluated", app.id)
                pause(PAUSE_S)
    for app in apps:
        try:
            alarm_states(rt, [app])  # the shared cache entry the Overview and the badge read
        except Exception:
            log.exception("warm-up: alarms of %s not cached", app.id)
    elapsed = time.perf_counter() - started
    log.info("warm-up: %d apps' alarm history and the Overview ready in %.1f s", len(apps),
             elapsed)
    return elapsed


def start_warm_up(rt: RuntimeOf[WarmSources]) -> threading.Thread:
    """Run :func:`warm_up` on a daemon thread (the dashboard serves meanwhile)."""
    thread = threading.Thread(target=warm_up, args=(rt,), name="warm-up", daemon=True)
    thread.start()
    return thread
