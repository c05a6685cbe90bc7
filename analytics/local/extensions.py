"""What the local backend runs besides the service-metric simulator.

Each concern owns its module (costs line items, alarm evaluation, the ingest endpoint and the
business-metric feeder); this file only wires them into the runtime so those modules never
edit shared start-up code.
"""

from __future__ import annotations

from typing import Protocol

from analytics.catalog import Catalog
from analytics.local import live_services, sim_alarms, sim_costs
from analytics.local.runtime import TickHook
from analytics.local.store import LocalStore
from analytics.settings import Settings


class Stoppable(Protocol):
    def stop(self) -> None: ...


def tick_hooks(catalog: Catalog, settings: Settings, store: LocalStore) -> list[TickHook]:
    """Hooks run after each simulator fill step, with the (t0_ms, t1_ms] just written."""
    hooks = [sim_costs.tick_hook(catalog, settings, store),
             sim_alarms.tick_hook(catalog, settings, store)]
    return [h for h in hooks if h is not None]


def start_services(catalog: Catalog, settings: Settings, store: LocalStore) -> list[Stoppable]:
    """Background services of the local backend (the ingest endpoint, live feeders)."""
    return list(live_services.start(catalog, settings, store))
