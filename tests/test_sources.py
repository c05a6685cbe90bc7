"""The composition root: one backend's sources, wired once."""

from __future__ import annotations

from pathlib import Path

from analytics.alarms.aws import AwsAlarms
from analytics.alarms.local import LocalAlarms
from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.costs.aws import AwsCosts
from analytics.custom.aws import AwsCustom
from analytics.local.store import LocalStore
from analytics.metrics.aws import AwsMetrics
from analytics.metrics.local import LocalMetrics
from analytics.performance.aws import AwsPerformance
from analytics.performance.local import LocalPerformance
from analytics.sources import aws_sources, local_sources


def test_aws_sources_share_one_client_factory_and_read_their_settings() -> None:
    # GIVEN aws settings naming a table, a Logs Insights time-out and an endpoint
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "eu-west-1",
                              "METRICS_TABLE": "metrics-x", "LOGS_QUERY_TIMEOUT_S": "7",
                              "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, secrets={})
    clients = AwsClients(settings, QueryCache())
    # WHEN the root builds the sources
    sources = aws_sources(settings, clients=clients)
    # THEN every concern is answered by its aws class, through the same clients
    assert sources.backend == "aws"
    assert sources.description == "aws (eu-west-1 via http://127.0.0.1:5000)"
    assert isinstance(sources.metrics, AwsMetrics) and sources.metrics.clients is clients
    assert isinstance(sources.alarms, AwsAlarms) and sources.alarms.clients is clients
    assert isinstance(sources.costs, AwsCosts) and sources.costs.clients is clients
    assert isinstance(sources.custom, AwsCustom) and sources.custom.table == "metrics-x"
    assert isinstance(sources.performance, AwsPerformance)
    assert sources.performance.logs_timeout_s == 7.0


def test_local_sources_read_one_store_through_one_metrics_source(tmp_path: Path) -> None:
    # GIVEN an empty local store
    store = LocalStore(tmp_path / "root.duckdb")
    # WHEN the root builds the local sources
    sources = local_sources(store=store)
    # THEN alarms and cold starts evaluate on the very metrics source the pages read
    assert sources.backend == "local" and str(store.path) in sources.description
    assert isinstance(sources.metrics, LocalMetrics) and sources.metrics.store is store
    assert isinstance(sources.alarms, LocalAlarms) and sources.alarms.metrics is sources.metrics
    assert isinstance(sources.performance, LocalPerformance)
    assert sources.performance.metrics is sources.metrics
    store.close()
