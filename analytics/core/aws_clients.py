"""The one boto3 client factory.

Every client gets the same botocore ``Config``: retry mode ``standard`` (it retries Cost
Explorer's ``LimitExceededException``, which the default ``legacy`` mode does not) and explicit
connect/read timeouts, so a hung endpoint costs seconds, not the default minute. An event hook
counts every API call by name into the shared cache's counters, which the pages show and the
cost page prices.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config

from analytics.core.cache import QueryCache
from analytics.core.settings import Settings

#: Cost Explorer only answers in us-east-1.
GLOBAL_REGIONS = {"ce": "us-east-1"}
#: Presigned report links must be SigV4 (botocore may still sign S3 URLs with SigV2, which
#: newer regions refuse and which cannot bound a link's lifetime the same way).
SERVICE_CONFIG = {"s3": Config(signature_version="s3v4")}


def billable_units(api: str, params: dict[str, Any]) -> int:
    """Units AWS bills for one call: metrics requested for GetMetricData, else 1 request.

    GetMetricData is billed per metric requested; up to 5 statistics of one metric in one
    call count once.
    """
    if api != "cloudwatch.GetMetricData":
        return 1
    per_metric: Counter[str] = Counter()
    for q in params.get("MetricDataQueries", []):
        stat = q.get("MetricStat")
        if stat:
            m = stat["Metric"]
            dims = sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", []))
            per_metric[f"{m.get('Namespace')}|{m.get('MetricName')}|{dims}"] += 1
    return sum(math.ceil(n / 5) for n in per_metric.values())


class AwsClients:
    """Creates and memoises boto3 clients; thread-safe (boto3 clients are, sessions are not)."""

    def __init__(self, settings: Settings, cache: QueryCache) -> None:
        self.settings = settings
        self.cache = cache
        self.config = Config(
            retries={"mode": "standard", "max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )
        self._session = boto3.session.Session(region_name=settings.region)
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        region = GLOBAL_REGIONS.get(service, self.settings.region)
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                c = self._session.client(  # type: ignore[call-overload]  # boto3-stubs: dynamic name
                    service, region_name=region, endpoint_url=self.settings.endpoint_url,
                    config=self.config.merge(SERVICE_CONFIG[service]) if service in
                    SERVICE_CONFIG else self.config,
                )
                c.meta.events.register("before-parameter-build", self._count)
                self._clients[key] = c
            return self._clients[key]

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        api = f"{model.service_model.service_name}.{model.name}"
        self.cache.count_aws_call(api, billable_units(api, params))
