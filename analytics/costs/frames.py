"""The cost frames both sources answer with, and the queries no source may accept.

Both sources (Cost Explorer and the local simulator's line items) build their answers with
:func:`cost_frame` and :func:`anomaly_frame`, so neither imports the other and the pages never
see which one answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import pandas as pd

TAG_KEY = "Application"
#: ``attrs`` key of a cost frame grouped by tag: the tag's cost-allocation status as the source
#: read it with the costs ("Active", "Inactive", None: never seen, "unknown (…)": unreadable).
TAG_STATUS = "tag_status"
#: The ``Application`` tag of the dashboard's own stack (``infra/cdk``'s tagging module): its
#: spend is a row of its own beside the monitored apps, for admins.
OWN_STACK_TAG = "central-analytics"
#: Page/API metric name -> GetCostForecast's enum for the same metric.
METRICS: dict[str, str] = {"UnblendedCost": "UNBLENDED_COST", "AmortizedCost": "AMORTIZED_COST"}
DEFAULT_METRIC = "UnblendedCost"
GRANULARITIES = ("DAILY", "MONTHLY")
GROUPS = ("SERVICE", "TAG")
DEFAULT_LEVEL = 80
#: Value of a dimension the query did not group by.
ALL = "(all)"
COST_COLUMNS = ["start", "service", "tag", "amount", "estimated"]
ANOMALY_COLUMNS = ["anomaly_id", "start", "end", "service", "tag", "actual_usd", "expected_usd",
                   "impact_usd", "impact_pct", "score"]
HISTORY_DAYS = 7


class CostQueryError(ValueError):
    """A cost query that no backend can answer (bad metric, range or grouping)."""


def validate_query(start: date, end: date, *, granularity: str, metric: str,
                   group_by: Sequence[str]) -> None:
    """Reject what Cost Explorer would reject, with a message that says how to fix it."""
    if metric not in METRICS:
        raise CostQueryError(f"unknown cost metric {metric!r}; use one of {list(METRICS)}")
    if granularity not in GRANULARITIES:
        raise CostQueryError(f"unknown granularity {granularity!r}; use {GRANULARITIES}")
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise CostQueryError(f"cannot group by {unknown[0]!r}; use {GROUPS}")
    if end <= start:
        raise CostQueryError(f"the cost range must end after it starts ({start} .. {end})")


def cost_frame(rows: Iterable[tuple[object, ...]]) -> pd.DataFrame:
    """(start, service, tag, amount, estimated) rows -> the cost frame (``start`` a date)."""
    frame = pd.DataFrame(list(rows), columns=COST_COLUMNS)
    frame["start"] = pd.to_datetime(frame["start"]).dt.date if len(frame) else \
        pd.Series(dtype="object")
    frame["service"] = frame["service"].astype("object")
    frame["tag"] = frame["tag"].astype("object")
    frame["amount"] = frame["amount"].astype("float64")
    frame["estimated"] = frame["estimated"].astype("bool")
    return frame.sort_values(["start", "service", "tag"], ignore_index=True)


def anomaly_frame(rows: Iterable[tuple[object, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=ANOMALY_COLUMNS)
    for col in ("actual_usd", "expected_usd", "impact_usd", "impact_pct", "score"):
        frame[col] = frame[col].astype("float64")
    return frame.sort_values(["start", "anomaly_id"], ignore_index=True)
