"""One doctor run's AWS calls: each made once, its outcome classified, never raised.

A dry call answers the permission question even when it fails: AWS checks authorization
before it looks for the resource, so ``ResourceNotFoundException`` means "allowed", while
``AccessDenied`` means the role lacks the action. Anything else (a 5xx, an operation the
endpoint does not implement, no connection) means the doctor could not tell. Calls are
memoised per run, so a check and the IAM row of the same action cost one request — which
matters for Cost Explorer, at $0.01 each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from analytics.core.aws_clients import AwsClients
from analytics.core.fmt import one_line
from analytics.core.permissions import DENIED_CODES
from analytics.doctor.checks import Check, failed, passed, warned

#: The fix of every refused action.
REDEPLOY = ("grant it: redeploy the stack (cdk deploy), whose task role is built from "
            "analytics/core/permissions.py; with your own credentials this checks *your* "
            "permissions — run the doctor as the task role (the Setup page)")

#: Errors that come after the authorization check: the caller was allowed.
AUTHORIZED_CODES = (
    "ResourceNotFoundException", "NotFoundException", "ValidationException",
    "ConditionalCheckFailedException",  # a conditional write the caller was allowed to try
    "ValidationError", "InvalidParameterException", "InvalidParameterValueException",
    "InvalidParameterCombination", "DataUnavailableException", "DBInstanceNotFound",
    "DBInstanceNotFoundFault", "MalformedQueryException", "BillExpirationException",
    "RequestChangedException", "UnknownMonitorException", "TableNotFoundException",
)
#: Errors that mean AWS (or the endpoint) cannot be reached at all.
UNREACHABLE = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
               "NoCredentialsError", "NoRegionError", "ConnectionClosedError")


@dataclass(frozen=True)
class Call:
    """The outcome of one call: the answer, or the error's code and message."""

    answer: dict[str, Any] | None
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.answer is not None

    @property
    def denied(self) -> bool:
        return self.code in DENIED_CODES

    @property
    def allowed(self) -> bool:
        return self.ok or self.code in AUTHORIZED_CODES

    @property
    def unreachable(self) -> bool:
        return self.code in UNREACHABLE

    @property
    def error(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


class Calls:
    """Memoised calls through the shared client factory (counted and priced like any other)."""

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients
        self._done: dict[str, Call] = {}

    def __call__(self, service: str, method: str, *, region: str | None = None,
                 **params: Any) -> Call:
        key = json.dumps([service, method, region, params], sort_keys=True, default=str)
        if key not in self._done:
            self._done[key] = self._make(service, method, region, params)
        return self._done[key]

    def again(self, service: str, method: str, **params: Any) -> Call:
        """Not memoised: for polling."""
        return self._make(service, method, None, params)

    def _make(self, service: str, method: str, region: str | None,
              params: dict[str, Any]) -> Call:
        try:
            client = self.clients.client(service, region=region)
            return Call(dict(getattr(client, method)(**params)))
        except ClientError as exc:
            err = exc.response.get("Error", {})
            return Call(None, str(err.get("Code") or "ClientError"),
                        _readable(str(err.get("Message") or "")))
        except BotoCoreError as exc:
            return Call(None, type(exc).__name__, _readable(str(exc)))


def _readable(message: str) -> str:
    """One line of an error message (an HTML error page says only that it is one)."""
    if message.lstrip().startswith("<"):
        return "an HTML error page (does the endpoint implement this action?)"
    return one_line(message)


def action_row(action: str, outcome: Call, where: str = "") -> Check:
    """The IAM row of one dry call: ✓ allowed, ✗ refused, ⚠ could not tell."""
    suffix = f" {where}" if where else ""
    if outcome.ok:
        return passed(action, f"allowed{suffix}")
    if outcome.denied:
        return failed(action, f"refused{suffix}: {outcome.error}", REDEPLOY)
    if outcome.allowed:
        return passed(action, f"allowed{suffix} (AWS answered {outcome.code})")
    return warned(action, f"could not tell{suffix}: {outcome.error}")
