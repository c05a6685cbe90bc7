"""Central Analytics' Python SDK: ``Client`` for the read API, live updates and ingestion."""

from central_analytics_client.client import Client
from central_analytics_client.errors import ApiError, IngestError
from central_analytics_client.ingest import make_metric
from central_analytics_client.models import (
    CostBreakdown,
    DataPoint,
    MetricsResponse,
    MetricUpdate,
    RealtimeMetrics,
)

__all__ = ["ApiError", "Client", "CostBreakdown", "DataPoint", "IngestError", "MetricUpdate",
           "MetricsResponse", "RealtimeMetrics", "make_metric"]
