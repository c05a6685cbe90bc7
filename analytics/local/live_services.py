"""The local backend's live services: the ingest endpoint and the business-metric feeder.

Called once per runtime build (``analytics.local.extensions``), after the service-metric history
is filled. Order matters: the business history is written first (so the Realtime page has data
at once), then the endpoint starts, then the live feeder POSTs to that endpoint. Stopping goes
the other way (feeder first), so nothing is sent to a closed socket.

* ``INGEST_ENABLED=false``: no endpoint and no live feeding (the live path must cross HTTP);
  the history is still written.
* ``SIMULATOR_LIVE=false``: the endpoint runs, the feeder only writes the history.
* The ``ingest`` package missing (the dashboard image): no custom metrics, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from analytics.core.catalog import Catalog
from analytics.core.clock import Clock, system_clock
from analytics.core.settings import Settings
from analytics.local.store import LocalStore

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


def start(catalog: Catalog, settings: Settings, store: LocalStore, *,
          clock: Clock = system_clock) -> list[Stoppable]:
    """Write the business history and start the endpoint and the live feeder; return them."""
    try:  # the dashboard image ships without the Lambda code: no custom metrics there
        from analytics.local.business_feeder import BusinessFeeder
        from analytics.local.custom_sink import DuckDBSink
        from analytics.local.ingest_server import ingest_token, start_ingest_server
    except ModuleNotFoundError as exc:
        log.warning("custom metrics disabled: %s", exc)
        return []
    sink = DuckDBSink(store)
    feeder = BusinessFeeder(catalog, sink, seed=settings.simulator_seed,
                            history_days=settings.history_days,
                            step_s=settings.simulator_tick_s, clock=clock)
    feeder.fill()
    services: list[Stoppable] = []
    server = (start_ingest_server(catalog, settings, sink, clock=clock)
              if settings.ingest_enabled else None)
    if server is not None and settings.simulator_live:
        token, _ = ingest_token(settings, announce=False)  # the same token the server checks
        feeder.start_live(server.url, token)
        services.append(feeder)
    if server is not None:
        services.append(server)
    return services


def find_service(services: Iterable[Any], kind: type) -> Any | None:
    """The first running service of ``kind`` (e.g. ``IngestServer``) in a runtime's services."""
    return next((s for s in services if isinstance(s, kind)), None)


def ingest_server(rt: Any) -> Any | None:
    """The local ingest endpoint of runtime ``rt`` (an ``IngestServer``), or None."""
    from analytics.local.ingest_server import IngestServer

    local = getattr(rt, "local", None)
    return None if local is None else find_service(getattr(local, "services", []), IngestServer)
