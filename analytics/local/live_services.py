"""Placeholder wiring point (filled by the custom-metrics issue): no services yet."""

from __future__ import annotations

from typing import Any

from analytics.catalog import Catalog
from analytics.local.store import LocalStore
from analytics.settings import Settings


def start(catalog: Catalog, settings: Settings, store: LocalStore) -> list[Any]:
    return []
