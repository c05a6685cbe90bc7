"""SigV4 for AWS: AppSync with IAM auth (service ``appsync``) and the ingest HTTP API
(``execute-api``). Needs botocore (``pip install central-analytics-client[aws]``); credentials
come from botocore's usual chain (environment, profile, role) unless given."""

from __future__ import annotations

from typing import Any

import httpx


def _credentials(credentials: Any | None) -> Any:
    if credentials is not None:
        return credentials
    try:
        import botocore.session
    except ModuleNotFoundError as exc:  # pragma: no cover - the extra is missing
        raise RuntimeError("SigV4 needs botocore: pip install 'central-analytics-client[aws]'"
                           ) from exc
    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise RuntimeError("no AWS credentials found for SigV4 signing")
    return found


def signed_headers(method: str, url: str, body: bytes, headers: dict[str, str], *,
                   region: str, service: str, credentials: Any | None = None) -> dict[str, str]:
    """``headers`` plus the SigV4 ones (``Authorization``, ``X-Amz-Date``, token)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(_credentials(credentials).get_frozen_credentials()
              if hasattr(_credentials(credentials), "get_frozen_credentials")
              else _credentials(credentials), service, region).add_auth(request)
    return dict(request.headers.items())


class SigV4:
    """Signs each httpx request (and each retry again: the date is part of the signature)."""

    def __init__(self, region: str, service: str, credentials: Any | None = None) -> None:
        self.region, self.service, self.credentials = region, service, credentials

    def __call__(self, request: httpx.Request) -> httpx.Request:
        base = {"host": request.url.host, "content-type": request.headers.get(
            "content-type", "application/json")}
        signed = signed_headers(request.method, str(request.url), request.content, base,
                                region=self.region, service=self.service,
                                credentials=self.credentials)
        for name, value in signed.items():
            request.headers[name] = value
        return request
