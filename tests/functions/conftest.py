"""Fixtures for the ingest Lambda (the installed ``ingest`` package): a moto DynamoDB table,
API Gateway HTTP API events and a Lambda context.

The Lambda runs on the suite's frozen clock (:data:`tests.conftest.NOW`): "received", a missing
timestamp and the accepted past/future window are computed from it, never from the wall clock.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from analytics.core.clock import ManualClock
from ingest import app as ingest_app
from ingest.events import http_api_event
from tests.conftest import NOW_MS, frozen_clock

TABLE = "central-analytics-metrics"
#: The caller ARN of ``http_api_event(iam=True)``.
EXAMPLE_ARN = "arn:aws:iam::123456789012:user/example"


@dataclass
class FakeLambdaContext:
    """The attributes Powertools' Logger reads from a Lambda context."""

    function_name: str = "central-analytics-ingest"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:central-analytics-ingest"
    )
    aws_request_id: str = "6f1a2b3c-0000-4000-8000-000000000000"


def metric(**overrides: Any) -> dict[str, Any]:
    """A valid metric in wire form, timestamped a minute before NOW; overrides replace fields."""
    base: dict[str, Any] = {
        "applicationId": "jobseek",
        "metricName": "ApplicationsSent",
        "value": 3,
        "unit": "Count",
        "dimensions": [{"name": "Plan", "value": "pro"}],
        "timestamp": NOW_MS - 60_000,
    }
    base.update(overrides)
    return base


@pytest.fixture
def ddb() -> Iterator[Any]:
    """A moto DynamoDB client with the metrics table (metricId S + timestamp N)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "metricId", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "metricId", "AttributeType": "S"},
                {"AttributeName": "timestamp", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture(autouse=True)
def _emf_checks_the_wall_clock() -> Iterator[None]:
    """Powertools warns when an EMF timestamp is over 14 days from the *wall* clock; the
    handler here stamps on the frozen clock, so that check says nothing about the code."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="This metric doesn't meet the requirements")
        yield


@pytest.fixture
def clock() -> ManualClock:
    """The Lambda's clock in these tests: stopped at NOW."""
    return frozen_clock()


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, ddb: Any, clock: ManualClock) -> Iterator[None]:
    """The Lambda's environment and clock; the cached default resolver is rebuilt for every
    test (from the environment, as at a cold start, but on ``clock``)."""
    monkeypatch.setattr(ingest_app, "_handler_from_env",
                        functools.partial(ingest_app._handler_from_env, clock=clock))
    monkeypatch.setenv("METRICS_TABLE", TABLE)
    monkeypatch.setenv("ALLOWED_APPLICATIONS", "jobseek, ilikeyacut")
    monkeypatch.setenv("APP_NAMESPACES", "jobseek=JobSeek/Business")
    # the signer http_api_event puts in requestContext.authorizer.iam writes both apps
    monkeypatch.setenv("INGEST_PRINCIPALS", json.dumps(
        {"jobseek": [EXAMPLE_ARN], "ilikeyacut": [EXAMPLE_ARN]}))
    monkeypatch.delenv("INGEST_CAPS", raising=False)
    monkeypatch.delenv("REQUIRE_IAM_AUTH", raising=False)
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    ingest_app.default_resolver.cache_clear()
    yield
    ingest_app.default_resolver.cache_clear()


Call = Callable[..., tuple[int, Any]]


@pytest.fixture
def call(lambda_env: None) -> Call:
    """``call(body, method="POST", path="/metrics", iam=True, raw=False)`` through
    ``lambda_handler``; returns (status, parsed JSON body). ``raw=True`` sends ``body`` as is."""

    def _call(
        body: Any = None,
        *,
        method: str = "POST",
        path: str = "/metrics",
        iam: bool = True,
        raw: bool = False,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = body if raw or body is None else json.dumps(body)
        event = http_api_event(
            method,
            path,
            headers={"content-type": "application/json", **(headers or {})},
            body=data,
            iam=iam,
        )
        answer = ingest_app.lambda_handler(event, FakeLambdaContext())
        assert answer["headers"]["Content-Type"] == "application/json"
        return answer["statusCode"], json.loads(answer["body"])

    return _call


def scan(client: Any) -> list[dict[str, Any]]:
    """Every item of the table (low-level attribute values)."""
    return client.scan(TableName=TABLE)["Items"]
