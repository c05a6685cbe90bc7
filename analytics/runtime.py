"""The process-wide runtime: settings, catalog, the live backend and the shared cache.

Created once per process on first use (every Streamlit session shares it), so the local store,
the simulator thread and the boto3 clients exist once however many tabs are open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics.backends.base import Backend
from analytics.cache import QueryCache, shared_cache
from analytics.catalog import Catalog, load_catalog
from analytics.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    backend: Backend
    cache: QueryCache
    local: Any = None  # analytics.local.runtime.LocalRuntime on the local backend

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()


def build_runtime(settings: Settings, cache: QueryCache | None = None) -> Runtime:
    """Validate the catalog and start the configured backend."""
    cache = cache or shared_cache()
    catalog = load_catalog(settings.catalog_path)
    if settings.backend == "aws":
        from analytics.backends.aws import AwsBackend
        from analytics.backends.aws_clients import AwsClients

        return Runtime(settings, catalog, AwsBackend(AwsClients(settings, cache)), cache)
    from analytics.backends.local import LocalBackend
    from analytics.local import extensions
    from analytics.local.runtime import LocalRuntime
    from analytics.local.store import LocalStore

    store = LocalStore(settings.duckdb_path)
    local = LocalRuntime(
        catalog, store, seed=settings.simulator_seed, history_days=settings.history_days,
        tick_s=settings.simulator_tick_s, live=settings.simulator_live,
        hooks=extensions.tick_hooks(catalog, settings, store),
    )
    local.services = extensions.start_services(catalog, settings, store)
    return Runtime(settings, catalog, LocalBackend(store), cache, local)


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime(env: Mapping[str, str] | None = None) -> Runtime:
    """The shared runtime, built on first call."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(load_settings(env))
        return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    """Install (or clear, with None) the process runtime — for tests and benches.

    The caller owns the runtime it installs and stops it itself.
    """
    global _runtime
    with _lock:
        _runtime = runtime
