"""DynamoDB stream -> AppSync: each new datapoint of the metrics table reaches the subscribers.

The managed equivalent of a connection table and a fan-out: this Lambda reads the table's
stream (new items only), groups a batch's datapoints by application and metric, and calls the
``publishMetricUpdate`` mutation once per group (IAM, SigV4). AppSync delivers each to the
``metricUpdates`` subscriptions whose filter matches. Items that are not datapoints (the series
registry, the sign-out deny-list: keys starting with ``_``) are skipped. A group that cannot be
published fails the batch from its first record (``batchItemFailures``): Lambda retries from
there, bisects a failing batch, and after the retries sends it to the queue on failure.
Stdlib and botocore only (the Lambda runtime's), no dashboard code.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)
TIMEOUT_S = 5.0
PUBLISH = """mutation Publish($input: MetricUpdateInput!) {
  publishMetricUpdate(input: $input) {
    applicationId metricType metricName unit committedAt
    points { timestamp value dimensions { name value } }
  }
}"""
#: ``post(body bytes) -> (HTTP status, JSON answer)``: a signed POST to the AppSync endpoint.
Poster = Callable[[bytes], tuple[int, Mapping[str, Any]]]


def aws_datetime(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def dimensions_of(canonical: str) -> list[dict[str, str]]:
    """The stored canonical string (``Plan=pro``, ``\\ , =`` escaped) back to pairs.

    The ingest package's ``parse_dims`` does the same; this Lambda's asset is its own folder
    alone, so it keeps a copy, and a test holds the two equal on escaped separators."""
    if not canonical:
        return []
    pairs, parts, current, escaped = [], [], "", False
    for ch in canonical:
        if escaped:
            current, escaped = current + ch, False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            parts.append(current)
            current = ""
            if ch == ",":
                pairs.append({"name": parts[0], "value": "=".join(parts[1:])})
                parts = []
        else:
            current += ch
    parts.append(current)
    pairs.append({"name": parts[0], "value": "=".join(parts[1:])})
    return pairs


def _datapoint(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if record.get("eventName") != "INSERT":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    metric_id = (image.get("metricId") or {}).get("S", "")
    if not metric_id or metric_id.startswith("_") or "app" not in image:
        return None
    return image


def updates_from_records(records: Iterable[Mapping[str, Any]]
                         ) -> list[tuple[dict[str, Any], str]]:
    """(MetricUpdate input, first record's sequence number) per (app, metric) of the batch."""
    groups: dict[tuple[str, str], list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {}
    for record in records:
        image = _datapoint(record)
        if image is not None:
            key = (image["app"]["S"], image["metricName"]["S"])
            groups.setdefault(key, []).append((record, image))
    out = []
    for (app, name), rows in sorted(groups.items()):
        rows.sort(key=lambda r: int(r[1]["ts_ms"]["N"]))
        created = max(float(r[0]["dynamodb"].get("ApproximateCreationDateTime", 0))
                      for r in rows)
        units = [r[1]["unit"]["S"] for r in rows if "unit" in r[1]]
        update = {
            "applicationId": app, "metricType": "CUSTOM", "metricName": name,
            "unit": units[-1] if units else None,
            "points": [{"timestamp": aws_datetime(int(i["ts_ms"]["N"]) / 1000),
                        "value": float(i["value"]["N"]),
                        "dimensions": dimensions_of(i.get("dims", {}).get("S", ""))}
                       for _, i in rows],
            "committedAt": aws_datetime(created or time.time()),
        }
        first = min((r[0]["dynamodb"]["SequenceNumber"] for r in rows), key=int)
        out.append((update, first))
    return out


def signed_poster(url: str, region: str) -> Poster:
    """POST JSON to AppSync signed with the function's role (SigV4, service ``appsync``)."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials for signing (the function's role)")

    def post(body: bytes) -> tuple[int, Mapping[str, Any]]:
        request = AWSRequest("POST", url, data=body, headers={"content-type": "application/json"})
        SigV4Auth(credentials.get_frozen_credentials(), "appsync", region).add_auth(request)
        prepared = urllib.request.Request(url, data=body, method="POST",
                                          headers=dict(request.headers.items()))
        try:
            with urllib.request.urlopen(prepared, timeout=TIMEOUT_S) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, {}

    return post


def publish_all(records: list[Mapping[str, Any]], post: Poster) -> dict[str, Any]:
    """Publish every group; the partial-batch answer Lambda's event source expects."""
    failed: list[str] = []
    for update, first in updates_from_records(records):
        body = json.dumps({"query": PUBLISH, "variables": {"input": update}}).encode()
        try:
            status, answer = post(body)
        except OSError as exc:
            status, answer = 0, {"errors": [{"message": str(exc)}]}
        if status != 200 or answer.get("errors"):
            log.warning("publish failed for %s/%s: HTTP %s %s", update["applicationId"],
                        update["metricName"], status, str(answer.get("errors"))[:300])
            failed.append(first)
    if not failed:
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": min(failed, key=int)}]}


_poster: Poster | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _poster
    if _poster is None:
        _poster = signed_poster(os.environ["APPSYNC_URL"], os.environ["AWS_REGION"])
    return publish_all(list(event.get("Records") or []), _poster)
