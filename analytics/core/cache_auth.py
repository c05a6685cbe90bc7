"""ElastiCache IAM authentication for the shared cache tier: no password exists to leak.

The task role signs a SigV4 "connect" request for the cache and its user; the presigned URL
(without its scheme) is the password of the Redis ``AUTH``. A token is valid for 15 minutes
and is only needed when a connection opens, so one is reused for 10 minutes. ElastiCache closes
IAM-authenticated connections after 12 hours; redis-py opens a new one, with a new token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from botocore.model import ServiceId
from botocore.signers import RequestSigner
from redis.credentials import CredentialProvider

TOKEN_TTL_S = 900
REUSE_S = 600.0


class ElastiCacheIAMProvider(CredentialProvider):
    """``(user, token)`` for redis-py, signed with ``session``'s credentials (a boto3 or
    botocore session: the task role in ECS)."""

    def __init__(self, *, user: str, cache_name: str, region: str, session: Any,
                 serverless: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.user = user
        self.cache_name = cache_name
        self.region = region
        self.session = session
        self.serverless = serverless
        self.clock = clock
        self._lock = threading.Lock()
        self._token: tuple[float, str] | None = None

    def token(self) -> str:
        query = {"Action": "connect", "User": self.user}
        if self.serverless:
            query["ResourceType"] = "ServerlessCache"
        signer = RequestSigner(ServiceId("elasticache"), self.region, "elasticache", "v4",
                               self.session.get_credentials(), self.session.events)
        request = {"method": "GET", "url": f"https://{self.cache_name}/?{urlencode(query)}",
                   "body": {}, "headers": {}, "context": {}}
        signed = signer.generate_presigned_url(request, operation_name="connect",
                                               expires_in=TOKEN_TTL_S, region_name=self.region)
        return str(signed).removeprefix("https://")

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            now = self.clock()
            if self._token is None or now - self._token[0] >= REUSE_S:
                self._token = (now, self.token())
            return self.user, self._token[1]
