"""AppSync's data source for every Query field, ``recordCustomMetric`` and the subscription.

One runtime per execution environment (built at cold start, so its cache serves every later
request of that environment), the aws backend, the same services the dashboard's pages call
(:mod:`analytics.api.appsync`). Who may read what comes from the stack: ``INGEST_PRINCIPALS``
(an app's own roles read that app), ``API_ADMIN_PRINCIPALS`` (read every app) and
``API_GROUPS`` (Cognito groups -> role and apps). Writes go through the ingest Lambda's own
handler as the calling IAM identity, so the mutation accepts what ``POST /metrics`` accepts.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping
from typing import Any

from analytics.api.appsync import handle
from analytics.api.identity import AppSyncAccess, GroupGrant
from analytics.api.record import Recorder
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime
from ingest import app as ingest_app
from ingest import events as ingest_events


@functools.cache
def runtime() -> Runtime:
    return build_runtime(load_settings({**os.environ, "ANALYTICS_BACKEND": "aws"}, secrets={}))


def access_rules(env: Mapping[str, str]) -> AppSyncAccess:
    """The identity rules from the stack's environment (see module doc)."""
    apps = ingest_app.parse_principals(env.get("INGEST_PRINCIPALS", ""))
    admins = json.loads(env.get("API_ADMIN_PRINCIPALS") or "[]")
    groups_raw = json.loads(env.get("API_GROUPS") or "{}")
    groups = {str(name): GroupGrant(str(g.get("role", "viewer")),
                                    None if g.get("apps") is None else frozenset(g["apps"]))
              for name, g in groups_raw.items()}
    return AppSyncAccess({a: tuple(p) for a, p in apps.items()}, tuple(admins), groups)


def recorder_for(identity: Mapping[str, Any],
                 handler: ingest_app.IngestHandler | None = None) -> Recorder | None:
    """The ingest handler acting as the IAM caller (Cognito users do not write)."""
    arn = identity.get("userArn")
    if not isinstance(arn, str) or not arn:
        return None

    def record(payload: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]]:
        event = ingest_events.http_api_event(
            "POST", "/metrics", headers={"content-type": "application/json"},
            body=json.dumps(payload), iam=True)
        event["requestContext"]["authorizer"]["iam"]["userArn"] = arn
        response = (handler or ingest_app.default_handler()).post(event)
        body = response.body if isinstance(response.body, str) else "{}"
        return response.status_code, json.loads(body or "{}")

    return record


@functools.cache
def _rules() -> AppSyncAccess:
    return access_rules(os.environ)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AppSync's payload ``{field, parentType, arguments, identity}`` -> ``{data}|{error}``."""
    rt = runtime()
    return handle(event, rt=rt, rules=_rules(), recorder_for=recorder_for, clock=time.time,
                  deadline_s=rt.settings.page_deadline_s)
