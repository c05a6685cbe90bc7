"""Cached, access-filtered cost queries: the one door to Cost Explorer (and its local twin).

Why this layer: every Cost Explorer request costs $0.01 and its data changes at most three times a
day. So every query here goes through the shared cache (kind ``"costs"``, 6 hours) with a key
made of **whole days** (ISO dates, never datetimes) and of nothing user-specific: every viewer
of the same month, whoever and whenever that day, shares one entry, and the second view of the
page makes no request at all. What a user may see is filtered *after* the cache: rows of apps
outside the principal's scope are dropped; untagged spend (and tags outside the catalog) is
shown only to admins — the principal is None (CLI, tests) or has role ``admin`` and no app
restriction (an admin limited to some apps is treated as a viewer of those apps).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import cast

import pandas as pd

from analytics.core import access
from analytics.core.cache import Cached
from analytics.core.catalog import Catalog
from analytics.core.runtime import RuntimeOf
from analytics.costs.forecast import Forecast, forecast_window
from analytics.costs.frames import (
    ALL,
    DEFAULT_LEVEL,
    DEFAULT_METRIC,
    OWN_STACK_TAG,
    TAG_KEY,
    TAG_STATUS,
)
from analytics.costs.source import HasCosts

CostsRuntime = RuntimeOf[HasCosts]

KIND = "costs"
UNTAGGED = "(untagged)"
#: The dashboard's own stack (resources tagged ``Application=central-analytics``).
OWN_STACK = "(this dashboard)"
OWN_STACK_LABEL = "Central Analytics (this dashboard)"
OTHER_TAG = "(other tag: {})"


def as_day(value: date | datetime) -> date:
    """A whole UTC day: datetimes are converted, so 09:00 and 17:00 give the same key."""
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
                ).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, got {value!r}")


def is_admin() -> bool:
    """Whether the current principal may see untagged spend and account-wide totals."""
    p = access.current_principal()
    return p is None or (p.role == "admin" and p.apps is None)


def app_of_tag(catalog: Catalog) -> dict[str, str]:
    """``Application`` tag value -> app id; untagged (``""``) -> :data:`UNTAGGED`; the
    dashboard's own tag -> :data:`OWN_STACK` (unless a catalog app uses that tag)."""
    out = {a.cost_tag: a.id for a in catalog.apps}
    out[""] = UNTAGGED
    out.setdefault(OWN_STACK_TAG, OWN_STACK)
    out[ALL] = ALL
    return out


def _visible(labels: pd.Series, ids: set[str], admin: bool) -> pd.Series:
    """Boolean mask (a Series: an empty *list* would select no columns instead of no rows)."""
    return pd.Series([(a in ids and access.allowed(a)) or (admin and a not in ids)
                      for a in labels], index=labels.index, dtype="bool")


def label_and_filter(frame: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Replace ``tag`` by ``app`` and keep the rows the current principal may see."""
    mapping = app_of_tag(catalog)
    out = frame.copy()
    at = cast(int, out.columns.get_loc("tag"))  # column labels are unique: one position
    out.insert(at, "app", [mapping.get(t, OTHER_TAG.format(t)) for t in out["tag"]])
    out = out.drop(columns=["tag"])
    ids = set(catalog.ids())
    admin = is_admin()
    return out[_visible(out["app"], ids, admin)].reset_index(drop=True)


def scope_mask(labels: pd.Series, *, app_ids: set[str], catalog: Catalog,
               with_unassigned: bool) -> pd.Series:
    """Rows of the picked apps, plus (``with_unassigned``) every label that is no catalog app:
    untagged spend, tags outside the catalog, unattributed anomalies."""
    ids = set(catalog.ids())
    return pd.Series([a in app_ids or (with_unassigned and a not in ids) for a in labels],
                     index=labels.index, dtype="bool")


def _wrap(cached: Cached[pd.DataFrame], frame: pd.DataFrame) -> Cached[pd.DataFrame]:
    return Cached(frame, cached.fetched_at, cached.stale, cached.error)


def costs(rt: CostsRuntime, start: date | datetime, end: date | datetime, *,
          granularity: str = "DAILY", metric: str = DEFAULT_METRIC,
          group_by: Sequence[str] = ("SERVICE", "TAG")) -> Cached[pd.DataFrame]:
    """Cost frame (start, service, app, amount, estimated) for ``[start, end)``.

    One cache entry per (days, granularity, metric, grouping) holds every app's rows; the
    principal's view is cut from it. Columns a query did not group by hold ``"(all)"`` — a
    total across apps, so an ungrouped-by-tag query is only answered for admins.
    """
    d0, d1 = as_day(start), as_day(end)
    groups = tuple(group_by)
    if "TAG" not in groups and not is_admin():
        raise access.AccessDenied("account-wide totals are shown to admins only")
    key = ("usage", d0.isoformat(), d1.isoformat(), granularity, metric, groups)
    cached = rt.cache.get(KIND, key, lambda: rt.sources.costs.get_cost_and_usage(
        d0, d1, granularity=granularity, metric=metric, group_by=groups))
    frame = label_and_filter(cached.value, rt.catalog)
    if TAG_STATUS in cached.value.attrs:
        frame.attrs[TAG_STATUS] = cached.value.attrs[TAG_STATUS]
    return _wrap(cached, frame)


def forecast(rt: CostsRuntime, today: date | datetime, app_id: str | None, *,
             metric: str = DEFAULT_METRIC, level: int = DEFAULT_LEVEL) -> Cached[Forecast | None]:
    """Forecast from ``today`` to the end of its month for one app (None: whole account).

    None as the value means the backend has too little history to forecast.
    """
    if app_id is None:
        if not is_admin():
            raise access.AccessDenied("the account-wide forecast is shown to admins only")
        tag = None
    else:
        access.require(app_id)
        tag = rt.catalog.get(app_id).cost_tag
    start, end = forecast_window(as_day(today))
    key = ("forecast", start.isoformat(), end.isoformat(), metric, tag, level)
    return rt.cache.get(KIND, key, lambda: rt.sources.costs.get_cost_forecast(
        start, end, metric=metric, tag=tag, level=level))


def anomalies(rt: CostsRuntime, start: date | datetime, end: date | datetime
              ) -> Cached[pd.DataFrame]:
    """Cost anomalies overlapping ``[start, end)`` with an ``app`` column, filtered.

    An anomaly is attributed to an app when its tag (local) or Cost Anomaly Detection's
    DimensionValue (aws: a monitor on the ``Application`` tag) is that app's cost tag; anything
    else is unattributed and, like untagged spend, shown to admins only.
    """
    d0, d1 = as_day(start), as_day(end)
    key = ("anomalies", d0.isoformat(), d1.isoformat())
    cached = rt.cache.get(KIND, key, lambda: rt.sources.costs.get_cost_anomalies(d0, d1))
    frame = cached.value.copy()
    tags = {a.cost_tag: a.id for a in rt.catalog.apps}
    frame["tag"] = [tags.get(t, UNTAGGED if not t else f"(unattributed: {t})")
                    for t in frame["tag"]]
    frame = frame.rename(columns={"tag": "app"})
    ids = set(rt.catalog.ids())
    admin = is_admin()
    return _wrap(cached, frame[_visible(frame["app"], ids, admin)].reset_index(drop=True))


def ce_requests(rt: CostsRuntime) -> int:
    """Cost Explorer requests this process made (every page counts): the cache's AWS counters."""
    return sum(n for api, n in rt.cache.snapshot()["aws_calls"].items() if api.startswith("ce."))


def tag_status_note(status: str | None) -> str | None:
    """The Costs page's warning when costs cannot be split by app (None when they can)."""
    if status == "Active":
        return None
    if status is not None and status.startswith("unknown"):
        return (f"Could not tell whether `{TAG_KEY}` is an active cost-allocation tag "
                f"({status.removeprefix('unknown').strip(' ()')}); if it is not, every app "
                "reads $0 and all spend is Untagged.")
    state = "is not an active" if status else "has never been seen as a"
    return (f"The `{TAG_KEY}` tag {state} cost-allocation tag, so Cost Explorer cannot group "
            "costs by it: every app reads $0 and all spend lands in Untagged. Activate it in "
            "Billing → Cost allocation tags (or `aws ce update-cost-allocation-tags-status "
            f"--cost-allocation-tags-status TagKey={TAG_KEY},Status=Active`); it applies "
            "from activation on, about a day later, and past months need a backfill request.")
