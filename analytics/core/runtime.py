"""What a service is handed: the settings, the catalog, the shared cache and some sources.

Generic in its sources, so a service names only the concerns it reads (``RuntimeOf[HasAlarms]``)
and never imports the composition root, which imports every backend: a concern then depends on
nothing but itself, the concerns below it and core. The root's runtime
(:class:`analytics.sources.Runtime`) satisfies every such view, and mypy checks that it does
wherever a page hands it to a service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

from analytics.core.cache import QueryCache
from analytics.core.catalog import Catalog
from analytics.core.clock import Clock
from analytics.core.settings import Settings

S_co = TypeVar("S_co", covariant=True)


class RuntimeOf(Protocol[S_co]):
    @property
    def settings(self) -> Settings: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def cache(self) -> QueryCache: ...

    @property
    def sources(self) -> S_co: ...

    @property
    def clock(self) -> Clock: ...

    def now(self) -> datetime:
        """The clock's time as an aware UTC datetime."""
        ...


class HasBackend(Protocol):
    """Sources that say which backend answers (``"aws"`` or ``"local"``)."""

    @property
    def backend(self) -> str: ...
