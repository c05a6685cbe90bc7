"""The one boto3 client factory.

Every client gets the same botocore ``Config``: retry mode ``standard`` (it retries Cost
Explorer's ``LimitExceededException``, which the default ``legacy`` mode does not), explicit
connect/read timeouts (shorter for the reads a page waits for than for background work), and
``central-analytics/<version>`` in the User-Agent so CloudTrail can tell the dashboard's calls
apart. Event hooks refuse an operation :mod:`analytics.core.permissions` does not declare, and
count every call *and every retry* (AWS bills each attempt) into the shared cache's counters,
which the pages show and the cost page prices.
"""

from __future__ import annotations

import math
import threading
import tomllib
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import boto3
from botocore.config import Config

from analytics.core.cache import QueryCache
from analytics.core.permissions import permission_of
from analytics.core.settings import ROOT, Settings

#: Cost Explorer only answers in us-east-1.
GLOBAL_REGIONS = {"ce": "us-east-1"}
#: Presigned report links must be SigV4 (botocore may still sign S3 URLs with SigV2, which
#: newer regions refuse and which cannot bound a link's lifetime the same way).
SERVICE_CONFIG = {"s3": Config(signature_version="s3v4")}
_UNITS = "central_analytics_units"  # the request context key carrying a call's billable units


def package_version() -> str:
    """The project's version for the User-Agent: installed metadata (``pip install -e .``), else
    the ``pyproject.toml`` beside the code (the container image copies it, installs nothing)."""
    try:
        return version("central-analytics")
    except PackageNotFoundError:
        pass
    try:
        with (ROOT / "pyproject.toml").open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0+unknown"


USER_AGENT_EXTRA = f"central-analytics/{package_version()}"


def client_config(settings: Settings, *, background: bool) -> Config:
    """The botocore Config of every client: interactive reads time out sooner."""
    return Config(
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.background_read_timeout if background else settings.read_timeout,
        user_agent_extra=USER_AGENT_EXTRA,
    )


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
    """Creates and memoises boto3 clients; thread-safe (boto3 clients are, sessions are not).

    ``background=True`` for work nobody waits on (scheduled refreshes): the longer
    ``AWS_BACKGROUND_READ_TIMEOUT`` instead of the page views' ``AWS_READ_TIMEOUT``.
    """

    def __init__(self, settings: Settings, cache: QueryCache, *, background: bool = False
                 ) -> None:
        self.settings = settings
        self.cache = cache
        self.background = background
        self.config = client_config(settings, background=background)
        self._session = boto3.session.Session(region_name=settings.region)
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, *, region: str | None = None) -> Any:
        """The memoised client of ``service`` (in ``region``, default the configured one)."""
        region = region or GLOBAL_REGIONS.get(service, self.settings.region)
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                c = self._session.client(  # type: ignore[call-overload]  # boto3-stubs: dynamic name
                    service, region_name=region, endpoint_url=self.settings.endpoint_url,
                    config=self.config.merge(SERVICE_CONFIG[service]) if service in
                    SERVICE_CONFIG else self.config,
                )
                c.meta.events.register("before-parameter-build", self._count)
                c.meta.events.register("request-created", self._count_retry)
                self._clients[key] = c
            return self._clients[key]

    def _count(self, params: dict[str, Any], model: Any, context: dict[str, Any] | None = None,
               **_: Any) -> None:
        """Once per logical call (Stubber-answered calls too): refuse undeclared operations."""
        api = f"{model.service_model.service_name}.{model.name}"
        permission_of(api)
        units = billable_units(api, params)
        if context is not None:
            context[_UNITS] = (api, units)
        self.cache.count_aws_call(api, units)

    def _count_retry(self, request: Any, **_: Any) -> None:
        """Once per HTTP attempt: attempts after the first are retries, billed like the first."""
        context = getattr(request, "context", None) or {}
        attempt = int(context.get("retries", {}).get("attempt", 1))
        if attempt > 1 and _UNITS in context:
            api, units = context[_UNITS]
            self.cache.count_aws_retry(api, units)
