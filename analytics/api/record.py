"""``recordCustomMetric``: one metric through the ingest contract, answered as GraphQL.

The mutation never writes by itself: it hands the wire form to a :data:`Recorder` that runs
the ingest Lambda's own handler (bearer tokens and the DuckDB group commit locally, the caller's
IAM identity and DynamoDB on AWS), so the API accepts exactly what ``POST /metrics`` accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from analytics.api.errors import ApiError, Code
from analytics.api.inputs import text

#: ``recorder({"metrics": [wire metric]}) -> (HTTP status, JSON answer)`` of the ingest contract.
Recorder = Callable[[Mapping[str, Any]], tuple[int, Mapping[str, Any]]]


def _wire(args: dict[str, Any]) -> dict[str, Any]:
    metric: dict[str, Any] = {"applicationId": text(args, "applicationId"),
                              "metricName": text(args, "metricName"), "value": args.get("value")}
    if args.get("unit") is not None:
        metric["unit"] = args["unit"]
    if args.get("dimensions") is not None:
        metric["dimensions"] = [d for d in args["dimensions"] if d is not None]
    stamp = args.get("timestamp")
    if stamp is not None:
        metric["timestamp"] = int(stamp) if isinstance(stamp, str) and stamp.isdigit() else stamp
    return metric


def _summary(answer: Mapping[str, Any]) -> str:
    errors = answer.get("errors")
    listed = errors if isinstance(errors, list) else []
    parts = [f"{e.get('field') or 'request'}: {e.get('message')}" for e in listed[:5]
             if isinstance(e, Mapping)]
    return "; ".join(parts) or "refused"


def record_custom_metric(recorder: Recorder | None, args: dict[str, Any]) -> dict[str, Any]:
    """The ``MetricResult`` once stored; an :class:`ApiError` naming the ingest refusal."""
    if recorder is None:
        raise ApiError(Code.FORBIDDEN, "this server does not accept writes")
    metric = _wire(args)
    status, answer = recorder({"metrics": [metric]})
    if 200 <= status < 300:
        return {"accepted": int(answer.get("accepted", 1)),
                "applicationId": metric["applicationId"], "metricName": metric["metricName"]}
    if status == 401:
        raise ApiError(Code.UNAUTHENTICATED, "missing or invalid credentials")
    if status == 403:
        raise ApiError(Code.FORBIDDEN, _summary(answer))
    if status == 503:
        raise ApiError(Code.NOT_WRITTEN, "not written: storage unavailable; retry")
    raise ApiError(Code.WRITE_REFUSED, _summary(answer))
