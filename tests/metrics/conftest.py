"""Both metrics sources loaded with the same raw samples, for the contract suite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws

from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.periods import align_down
from analytics.core.settings import load_settings
from analytics.local.store import LocalStore
from analytics.metrics.aws import AwsMetrics
from analytics.metrics.local import LocalMetrics
from tests.conftest import NOW

#: Window start: aligned to 5 minutes, 40 minutes ago, so 60 s and 300 s periods are valid.
START = align_down(NOW - timedelta(minutes=40), 300)
END = START + timedelta(minutes=30)

#: (namespace, metric, dims) -> list of (seconds after START, value); small on purpose (moto
#: scans every datapoint per bucket).
SERIES: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[tuple[int, float]]] = {}


def _build() -> None:
    rng = np.random.default_rng(3)
    SERIES[("AWS/ApiGateway", "Count", (("ApiId", "k3x9ab12cd"),))] = [
        (i * 60 + 5, float(rng.integers(50, 150))) for i in range(30)]
    SERIES[("AWS/ApiGateway", "Latency", (("ApiId", "k3x9ab12cd"),))] = [
        (int(s), float(v)) for s, v in zip(rng.integers(0, 1800, 120),
                                            np.round(rng.lognormal(4, 0.5, 120), 3), strict=True)]
    SERIES[("AWS/Lambda", "Errors", (("FunctionName", "ilikeyacut-auth"),))] = [
        (i * 120, float(i % 3)) for i in range(15)]


_build()


def samples_frame() -> pd.DataFrame:
    rows = []
    base = int(START.timestamp() * 1000)
    for (ns, name, dims), points in SERIES.items():
        d = ",".join(f"{k}={v}" for k, v in sorted(dims))
        rows += [(ns, name, d, base + s * 1000, v) for s, v in points]
    return pd.DataFrame(rows, columns=["namespace", "metric_name", "dims", "ts_ms", "value"])


@pytest.fixture
def local_backend(tmp_path: Path) -> LocalMetrics:
    store = LocalStore(tmp_path / "contract.duckdb")
    store.insert_samples(samples_frame())
    return LocalMetrics(store=store)


@pytest.fixture
def aws_backend() -> Iterator[AwsMetrics]:
    with mock_aws():
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                 secrets={})
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        for (ns, name, dims), points in SERIES.items():
            data = [{
                "MetricName": name, "Value": v, "Timestamp": START + timedelta(seconds=s),
                "Dimensions": [{"Name": k, "Value": val} for k, val in dims],
            } for s, v in points]
            for i in range(0, len(data), 500):
                cw.put_metric_data(Namespace=ns, MetricData=data[i:i + 500])
        yield AwsMetrics(clients=AwsClients(settings, QueryCache()), clock=lambda: NOW)


@pytest.fixture(params=["local", "aws"])
def backend(request: pytest.FixtureRequest) -> object:
    return request.getfixturevalue(f"{request.param}_backend")
