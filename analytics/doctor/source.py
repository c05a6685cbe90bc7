"""What any backend must answer to the doctor: its own checks of what it depends on."""

from __future__ import annotations

from typing import Protocol

from analytics.core.catalog import Catalog
from analytics.doctor.checks import Check


class DoctorSource(Protocol):
    #: One line saying where the checks ran (region and endpoint, or the local store's file).
    where: str

    def checks(self, catalog: Catalog) -> list[Check]:
        """Every check of this backend, in a readable order (harmless reads only)."""
        ...


class HasDoctor(Protocol):
    """Sources holding this concern's source (what its service needs of a runtime)."""

    @property
    def doctor(self) -> DoctorSource: ...
