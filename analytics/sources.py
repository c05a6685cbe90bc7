"""The composition root: every source built for the chosen backend, and the process runtime.

This is the only module that names both backends. Services receive a :class:`Runtime` and reach
a concern through ``rt.sources.<concern>``, typed as that concern's protocol, so mypy proves
both backends answer every question with the same signature. The runtime is built once per
process (every Streamlit session shares it), so the local store, its threads and the boto3
clients exist once however many tabs are open.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from analytics.alarms.aws import AwsAlarms
from analytics.alarms.local import LocalAlarms
from analytics.alarms.source import AlarmsSource
from analytics.auth.lockout import THROTTLE, AttemptLimiter
from analytics.auth.revocation import (
    DynamoDBRevokedSessions,
    FileRevokedSessions,
    MemoryRevokedSessions,
    RevokedSessions,
)
from analytics.auth.shared_stores import RedisAttemptLimiter, RedisRevokedSessions
from analytics.core.aws_clients import AwsClients, package_version
from analytics.core.cache import QueryCache
from analytics.core.cache_auth import ElastiCacheIAMProvider
from analytics.core.catalog import Catalog, load_catalog
from analytics.core.clock import Clock, datetime_clock, system_clock, utc
from analytics.core.settings import Settings, load_settings
from analytics.core.tier import RedisTier, redis_client
from analytics.costs.aws import AwsCosts
from analytics.costs.local import LocalCosts
from analytics.costs.source import CostsSource
from analytics.custom.aws import AwsCustom
from analytics.custom.local import LocalCustom
from analytics.custom.source import CustomSource
from analytics.doctor.aws import AwsDoctor
from analytics.doctor.local import LocalDoctor
from analytics.doctor.source import DoctorSource
from analytics.dr.aws import AwsDrill
from analytics.dr.local import LocalDrill
from analytics.dr.source import DrSource
from analytics.local.runtime import LocalRuntime
from analytics.local.store import LocalStore
from analytics.metrics.aws import AwsMetrics
from analytics.metrics.local import LocalMetrics
from analytics.metrics.source import MetricsSource
from analytics.performance.aws import AwsPerformance
from analytics.performance.local import LocalPerformance
from analytics.performance.source import PerformanceSource
from analytics.pipeline.aws import AwsReports, AwsRollups, AwsRunner
from analytics.pipeline.local import LocalReports, LocalRollups, LocalRunner
from analytics.pipeline.service import CATCH_UP_KEY, catch_up, execute
from analytics.pipeline.source import PipelineRunner, ReportsSource, RollupsSource


@dataclass(frozen=True)
class Sources:
    """One source per concern, all from the same backend."""

    backend: str  # "aws" | "local"
    description: str  # one line for the page footer: which backend and where its data is
    metrics: MetricsSource
    alarms: AlarmsSource
    costs: CostsSource
    custom: CustomSource
    performance: PerformanceSource
    rollups: RollupsSource
    reports: ReportsSource
    pipeline_runner: PipelineRunner
    dr: DrSource
    doctor: DoctorSource


def aws_sources(settings: Settings, *, clients: AwsClients,
                clock: Clock = system_clock) -> Sources:
    where = f" via {settings.endpoint_url}" if settings.endpoint_url else ""
    when = datetime_clock(clock)
    return Sources(
        backend="aws", description=f"aws ({settings.region}{where})",
        metrics=AwsMetrics(clients=clients, clock=when),
        alarms=AwsAlarms(clients=clients, clock=when),
        costs=AwsCosts(clients=clients),
        custom=AwsCustom(clients=clients, table=settings.metrics_table),
        performance=AwsPerformance(clients=clients,
                                   logs_timeout_s=settings.logs_query_timeout_s),
        rollups=AwsRollups(clients=clients, table=settings.rollups_table),
        reports=AwsReports(clients=clients, bucket=settings.reports_bucket,
                           topic_arn=settings.reports_topic_arn),
        pipeline_runner=AwsRunner(clients=clients,
                                  state_machine_arn=settings.pipeline_state_machine_arn),
        dr=AwsDrill(clients=clients, table=settings.metrics_table),
        doctor=AwsDoctor(clients=clients, settings=settings, now=when),
    )


def local_sources(*, store: LocalStore, clock: Clock = system_clock,
                  data_dir: Path | None = None, settings: Settings | None = None) -> Sources:
    """The local sources; packs and backups live under ``data_dir`` (default: beside the
    store's file)."""
    metrics = LocalMetrics(store=store)
    root = data_dir or store.path.parent
    settings = settings or load_settings({"ANALYTICS_BACKEND": "local"}, secrets={})
    return Sources(
        backend="local", description=f"local (embedded DuckDB at {store.path})",
        metrics=metrics,
        alarms=LocalAlarms(metrics=metrics, clock=datetime_clock(clock), store=store),
        costs=LocalCosts(store=store), custom=LocalCustom(store=store, clock=clock),
        performance=LocalPerformance(metrics=metrics),
        rollups=LocalRollups(store=store), reports=LocalReports(root=root),
        pipeline_runner=LocalRunner(), dr=LocalDrill(store=store, backup_dir=root / "backups"),
        doctor=LocalDoctor(store=store, settings=settings),
    )


@dataclass(frozen=True)
class SecurityStores:
    """Where sign-in budgets and signed-out sessions are kept.

    In-process budgets and a data-dir (local) or DynamoDB (aws) deny-list; a store shared by
    every task (a cache tier) replaces them here, behind the same two protocols.
    """

    attempts: AttemptLimiter
    revoked: RevokedSessions


def security_stores(settings: Settings, *, clients: AwsClients | None = None,
                    shared: Any = None) -> SecurityStores:
    """The durable deny-list of the backend; with a shared tier (``shared``: its redis-py
    client) budgets and deny-list live there for every task, the durable list behind it."""
    if settings.backend == "aws" and clients is not None:
        revoked: RevokedSessions = DynamoDBRevokedSessions(
            client=clients.client("dynamodb"), table=settings.metrics_table)
    else:
        revoked = FileRevokedSessions(settings.data_dir / "revoked-sessions.json")
    if shared is None:
        return SecurityStores(attempts=THROTTLE, revoked=revoked)
    namespace = "ca-sec:" + _digest(settings.backend, settings.region, settings.metrics_table)
    return SecurityStores(
        attempts=RedisAttemptLimiter(client=shared, namespace=namespace, fallback=THROTTLE,
                                     retry_s=settings.cache_retry_s),
        revoked=RedisRevokedSessions(client=shared, namespace=namespace, durable=revoked))


def _digest(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:12]


def where_cached(url: str) -> str:
    """The tier's URL without its password (for logs and the footer)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port or 6379}"


def shared_client(settings: Settings, *, session: Any = None) -> Any:
    """The redis-py client of ``ANALYTICS_CACHE_URL`` (None when unset). Connecting is lazy:
    a tier that is down at start only means L1 until it answers."""
    if settings.cache_url is None:
        return None
    url = settings.cache_url.get_secret_value()
    provider = None
    if settings.cache_iam_cache_name:
        import boto3

        provider = ElastiCacheIAMProvider(
            user=urlsplit(url).username or "default", cache_name=settings.cache_iam_cache_name,
            region=settings.region or "us-east-1",
            session=session or boto3.session.Session(region_name=settings.region))
    return redis_client(url, timeout_s=settings.cache_timeout_s,
                        connect_timeout_s=settings.cache_timeout_s,
                        cluster=settings.cache_cluster, credential_provider=provider)


def cache_tier(settings: Settings, *, client: Any) -> RedisTier:
    """The query cache's L2; its keys carry the release, so two versions never mix values."""
    namespace = "ca:" + _digest(package_version(), settings.backend, settings.region,
                                settings.endpoint_url, settings.metrics_table)
    assert settings.cache_url is not None
    return RedisTier(client, namespace=namespace, lock_s=settings.cache_lock_s,
                     retry_s=settings.cache_retry_s,
                     description=where_cached(settings.cache_url.get_secret_value()))


def _memory_stores() -> SecurityStores:
    return SecurityStores(attempts=THROTTLE, revoked=MemoryRevokedSessions())


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    sources: Sources
    cache: QueryCache
    local: LocalRuntime | None = None  # the embedded backend's store, threads and endpoint
    security: SecurityStores = field(default_factory=_memory_stores)
    clock: Clock = system_clock  # the one "now" of every layer (a test freezes it)

    def now(self) -> datetime:
        return utc(self.clock)

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()


def build_runtime(settings: Settings, *, cache: QueryCache | None = None,
                  catalog: Catalog | None = None, clock: Clock = system_clock) -> Runtime:
    """Validate the catalog (``settings.catalog_path`` unless one is given) and start the
    configured backend; ``clock`` is every layer's "now" (a cache given here keeps its own)."""
    cache = cache or QueryCache(clock=clock)  # every session of the process reads through it
    catalog = catalog or load_catalog(settings.catalog_path)
    shared = shared_client(settings)
    if shared is not None and cache.tier is None:
        cache.tier = cache_tier(settings, client=shared)
    if settings.backend == "aws":
        clients = AwsClients(settings, cache)
        return Runtime(settings, catalog, aws_sources(settings, clients=clients, clock=clock),
                       cache, security=security_stores(settings, clients=clients, shared=shared),
                       clock=clock)
    store = LocalStore(settings.duckdb_path)
    local = LocalRuntime(catalog, store, settings=settings, clock=clock)
    rt = Runtime(settings, catalog, local_sources(store=store, clock=clock,
                                                   data_dir=settings.data_dir, settings=settings),
                 cache, local, security=security_stores(settings, shared=shared), clock=clock)
    _start_local_pipeline(rt, local)
    _serve_api(rt)
    return rt


def _serve_api(rt: Runtime) -> None:
    """The local twin's GraphQL API reads this runtime (the services the pages read)."""
    from analytics.local.live_services import ingest_server

    server = ingest_server(rt)
    if server is not None:
        server.bind_api(rt)


def _start_local_pipeline(rt: Runtime, local: LocalRuntime) -> None:
    """Bind the local runner to this runtime and, on a live store, run the pipeline daily."""
    runner = rt.sources.pipeline_runner
    assert isinstance(runner, LocalRunner)  # local_sources builds one
    runner.bind(lambda request, trigger, run_id: execute(
        rt, request, today=rt.now().date(), trigger=trigger, run_id=run_id))
    if rt.settings.local_schedule:
        store = local.store
        local.schedule("pipeline", lambda: catch_up(
            rt, today=rt.now().date(), history_days=rt.settings.history_days,
            done_on=lambda: store.get_meta(CATCH_UP_KEY), mark_done=lambda day: store.set_meta(
                CATCH_UP_KEY, day)), every_s=3600.0, first_s=30.0)


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime(env: Mapping[str, str] | None = None) -> Runtime:
    """The shared runtime, built on first call."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(load_settings(env))
        return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    """Install (or clear, with None) the process runtime — for tests and benches.

    The caller owns the runtime it installs and stops it itself.
    """
    global _runtime
    with _lock:
        _runtime = runtime
