"""The AppSync side: one Lambda serves every field, called by the schema's JS resolvers.

AppSync's resolver (``infra/cdk/central_analytics/resolvers.js``) invokes the Lambda with
``{field, parentType, arguments, identity}`` and turns ``{"error": {code, message}}`` into a
GraphQL error whose ``errorType`` is the code, so an AppSync caller reads the same codes as a
local one. The subscription field answers the filter AppSync applies to each published update
(the caller may see the app; AppSync sends only that app's updates, and the names asked for).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from analytics.api import metrics as metric_resolvers
from analytics.api import views
from analytics.api.errors import ApiError, Code
from analytics.api.identity import AppSyncAccess
from analytics.api.record import Recorder, record_custom_metric
from analytics.api.schema import ApiContext, ApiRuntime, resolve
from analytics.api.updates import interest_of

log = logging.getLogger(__name__)
#: ``recorder_for(identity)``: the ingest path acting for that caller (None: no writes).
RecorderFor = Callable[[Mapping[str, Any]], Recorder | None]


def _subscription(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    interest = interest_of(ctx.rt.catalog, args)
    return {"applicationId": interest.app,
            "metricNames": None if interest.names is None else sorted(interest.names)}


def handle(event: Mapping[str, Any], *, rt: ApiRuntime, rules: AppSyncAccess,
           recorder_for: RecorderFor, clock: Callable[[], float],
           deadline_s: float | None = None) -> dict[str, Any]:
    """``{"data": ...}`` or ``{"error": {"code", "message"}}`` for one field of one request."""
    field = str(event.get("field"))
    args = dict(event.get("arguments") or {})
    identity = event.get("identity") or {}
    try:
        principal = rules.principal(identity)
        ctx = ApiContext(rt, principal, clock, recorder=recorder_for(identity),
                         deadline_s=deadline_s)
        work: dict[str, Callable[[], Any]] = {
            "getMetrics": lambda: metric_resolvers.get_metrics(ctx.rt, args, now=ctx.now()),
            "getRealtimeMetrics": lambda: views.get_realtime(ctx.rt, args, now=ctx.now()),
            "getCostAnalysis": lambda: views.get_cost_analysis(ctx.rt, args,
                                                               today=ctx.now().date()),
            "recordCustomMetric": lambda: record_custom_metric(ctx.recorder, args),
            "metricUpdates": lambda: _subscription(ctx, args),
        }
        if field not in work:
            raise ApiError(Code.BAD_ARGUMENT, f"this function does not resolve {field!r}")
        return {"data": resolve(ctx, work[field])}
    except ApiError as exc:
        return {"error": {"code": exc.code.value, "message": exc.message}}
