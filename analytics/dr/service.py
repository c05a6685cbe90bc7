"""The drill for the CLI and the admin page: one entry point, admins only when a user is signed
in (a drill creates and deletes a full copy of the table: it costs a restore's price)."""

from __future__ import annotations

from analytics.core import access
from analytics.core.runtime import RuntimeOf
from analytics.dr.model import DrillReport
from analytics.dr.source import HasDr

DrRuntime = RuntimeOf[HasDr]


def run_drill(rt: DrRuntime, *, lookback_s: int = 300, sample: int = 25) -> DrillReport:
    """Restore a copy, compare it with the source, delete it; see :mod:`analytics.dr.source`."""
    p = access.current_principal()
    if p is not None and p.role != "admin":
        raise access.AccessDenied("disaster-recovery drills are run by admins only")
    if lookback_s < 0 or sample < 1:
        raise ValueError("lookback must be >= 0 seconds and the sample at least 1 item")
    return rt.sources.dr.drill(lookback_s=lookback_s, sample=sample)
