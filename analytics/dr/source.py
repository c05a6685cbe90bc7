"""What any backend must answer for a disaster-recovery drill: restore a copy, check it, drop it.

aws restores the DynamoDB table to a point in time into a new table (PITR never restores in
place); local restores the DuckDB store from its newest backup copy into a new file. Neither
touches the source: a drill is safe to run at any time.
"""

from __future__ import annotations

from typing import Protocol

from analytics.dr.model import DrillReport


class DrSource(Protocol):
    def drill(self, *, lookback_s: int, sample: int) -> DrillReport:
        """Restore to about ``lookback_s`` ago (aws; local: the newest backup), compare the
        counts and ``sample`` items with the source, delete the copy, report every step."""
        ...


class HasDr(Protocol):
    @property
    def dr(self) -> DrSource: ...
