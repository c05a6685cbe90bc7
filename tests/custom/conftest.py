"""Fixtures for custom metrics: a local runtime with the real ingest server on a free port, and
the same contract on AWS (the Lambda's resolver + DynamoDBSink on moto, read by AwsBackend)."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from analytics.core.cache import QueryCache
from analytics.core.catalog import load_catalog
from analytics.core.settings import load_settings
from analytics.local.ingest_server import IngestServer, ingest_token
from analytics.local.live_services import ingest_server
from analytics.sources import Runtime, build_runtime, set_runtime
from ingest import app as lambda_app
from ingest import events as ingest_http
from ingest import sinks as ingest_sinks
from tests.conftest import NOW_MS, ROOT, frozen_clock, local_env

TABLE = "central-analytics-metrics"


def unique_name(prefix: str = "T") -> str:
    """A metric name no other test uses (the local runtime is shared by the whole folder)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def metric(**overrides: Any) -> dict[str, Any]:
    """A valid wire-form metric timestamped a minute ago."""
    base: dict[str, Any] = {
        "applicationId": "jobseek", "metricName": "ApplicationsSent", "value": 3,
        "unit": "Count", "dimensions": [{"name": "Plan", "value": "pro"}],
        "timestamp": NOW_MS - 60_000,
    }
    base.update(overrides)
    return base


def http_post(url: str, body: Any, token: str | None, *, raw: bool = False,
              headers: dict[str, str] | None = None, method: str = "POST") -> tuple[int, Any]:
    """One real HTTP request; returns (status, parsed JSON or None)."""
    parts = http.client.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    data = body if raw or body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, parts.path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    return resp.status, json.loads(payload) if payload else None


@pytest.fixture(scope="session")
def custom_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A local runtime (1 day of history) with the ingest endpoint on a free port and no live
    feeder, so only the tests write custom metrics."""
    data_dir = tmp_path_factory.mktemp("custom-store")
    env = local_env(data_dir, INGEST_ENABLED="true", INGEST_PORT="0",
                    SIMULATOR_HISTORY_DAYS="1")
    clock = frozen_clock()
    rt = build_runtime(load_settings(env, secrets={}), cache=QueryCache(clock=clock), clock=clock)
    yield rt
    rt.stop()


@pytest.fixture(scope="session")
def server(custom_rt: Runtime) -> IngestServer:
    srv = ingest_server(custom_rt)
    assert srv is not None, "the local ingest endpoint did not start"
    return srv


@pytest.fixture(scope="session")
def token(custom_rt: Runtime) -> str:
    return ingest_token(custom_rt.settings, announce=False)[0]


@pytest.fixture
def installed(custom_rt: Runtime) -> Iterator[Runtime]:
    """``custom_rt`` as the process runtime (what pages get), with an empty cache."""
    custom_rt.cache.reset()
    set_runtime(custom_rt)
    yield custom_rt
    set_runtime(None)


@dataclass
class AwsSide:
    """The AWS half: the Lambda resolver writing to moto DynamoDB and the dashboard reading it."""

    rt: Runtime
    ddb: Any
    cw: Any
    sink: Any
    resolver: Any

    def post(self, body: Any, *, iam: bool = True, raw: bool = False) -> tuple[int, Any]:
        data = body if raw else json.dumps(body)
        event = ingest_http.http_api_event("POST", "/metrics", body=data, iam=iam,
                                           headers={"content-type": "application/json"})
        with ingest_http.RESOLVE_LOCK:
            answer = self.resolver.resolve(event, None)
        return answer["statusCode"], json.loads(answer["body"])

    def emf_copy(self, app_namespace: str, names: list[str]) -> None:
        """What the Lambda's EMF lines create in CloudWatch (moto never sees stdout)."""
        self.cw.put_metric_data(Namespace=app_namespace, MetricData=[
            {"MetricName": n, "Value": 1.0} for n in names])

    def scan(self) -> list[dict[str, Any]]:
        return self.ddb.scan(TableName=TABLE)["Items"]


def create_table(ddb: Any) -> None:
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                   {"AttributeName": "timestamp", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "metricId", "AttributeType": "S"},
                              {"AttributeName": "timestamp", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws() -> Iterator[AwsSide]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(ddb)
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1",
                                  "METRICS_TABLE": TABLE}, secrets={})
        clock = frozen_clock()
        catalog = load_catalog(ROOT / "apps.toml")
        rt = build_runtime(settings, cache=QueryCache(clock=clock), catalog=catalog, clock=clock)
        sink = ingest_sinks.DynamoDBSink(TABLE, ddb, sleep=lambda _s: None)
        resolver = lambda_app.build_resolver(sink, catalog.ids(), emit_emf=False,
                                             require_iam_auth=True, clock=clock)
        yield AwsSide(rt, ddb, boto3.client("cloudwatch", region_name="us-east-1"), sink,
                      resolver)


Poster = Callable[..., tuple[int, Any]]


def local_rows(rt: Runtime, metric_name: str) -> list[dict[str, Any]]:
    """Stored local rows of one metric, in the DynamoDB item's vocabulary."""
    cur = rt.local.store.cursor()
    rows = cur.execute(
        "SELECT metric_id, sort_key, ts_ms, dims, value, unit, app, metric_name, received_ms, "
        "ttl FROM custom_metrics WHERE metric_name = ? ORDER BY sort_key", [metric_name]
    ).fetchall()
    keys = ["metricId", "timestamp", "ts_ms", "dims", "value", "unit", "app", "metricName",
            "receivedAt", "ttl"]
    return [dict(zip(keys, r, strict=True)) for r in rows]


def ddb_rows(items: list[dict[str, Any]], metric_name: str) -> list[dict[str, Any]]:
    """DynamoDB items of one metric, decoded to plain values and sorted like ``local_rows``."""
    out = []
    for i in items:
        if i["metricName"]["S"] != metric_name:
            continue
        out.append({
            "metricId": i["metricId"]["S"], "timestamp": int(i["timestamp"]["N"]),
            "ts_ms": int(i["ts_ms"]["N"]), "dims": i["dims"]["S"],
            "value": float(i["value"]["N"]), "unit": i.get("unit", {}).get("S"),
            "app": i["app"]["S"], "metricName": i["metricName"]["S"],
            "receivedAt": int(i["receivedAt"]["N"]), "ttl": int(i["ttl"]["N"]),
        })
    return sorted(out, key=lambda r: r["timestamp"])



@dataclass
class Endpoint:
    """One side of the contract: how to POST (authorized or not) and read what was stored."""

    name: str
    post: Callable[[Any], tuple[int, Any]]
    post_raw: Callable[[bytes], tuple[int, Any]]
    post_unauthenticated: Callable[[Any], tuple[int, Any]]
    rows: Callable[[str], list[dict[str, Any]]]


@pytest.fixture(params=["local", "dynamodb"])
def endpoint(request: pytest.FixtureRequest) -> Endpoint:
    """The local endpoint over real HTTP (DuckDB sink), or the Lambda resolver on moto DynamoDB."""
    if request.param == "local":
        rt, srv = request.getfixturevalue("custom_rt"), request.getfixturevalue("server")
        tok = request.getfixturevalue("token")
        return Endpoint(
            "local",
            lambda body: http_post(srv.url, body, tok),
            lambda data: http_post(srv.url, data, tok, raw=True),
            lambda body: http_post(srv.url, body, None),
            lambda name: local_rows(rt, name),
        )
    side: AwsSide = request.getfixturevalue("aws")
    return Endpoint(
        "dynamodb",
        side.post,
        lambda data: side.post(data, raw=True),
        lambda body: side.post(body, iam=False),
        lambda name: ddb_rows(side.scan(), name),
    )
