"""Placeholder wiring point (filled by its issue): returns no tick hook yet."""

from __future__ import annotations

from analytics.catalog import Catalog
from analytics.local.runtime import TickHook
from analytics.local.store import LocalStore
from analytics.settings import Settings


def tick_hook(catalog: Catalog, settings: Settings, store: LocalStore) -> TickHook | None:
    return None
