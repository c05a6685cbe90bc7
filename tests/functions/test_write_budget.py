"""A slow DynamoDB still gets the contract's answer: a 503 naming the items not written, before
the Lambda (and API Gateway's 30 s integration limit) would cut the request off."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ReadTimeoutError

from ingest import budget
from ingest.sinks import BOTO_CONFIG, DynamoDBSink
from tests.conftest import frozen_clock
from tests.functions.conftest import TABLE, http_api_event, ingest_app, metric


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowTable:
    """A BatchWriteItem that takes ``seconds`` of the fake clock, then answers (or times out
    after botocore's every attempt, as a hung table does)."""

    def __init__(self, clock: FakeClock, seconds: float, *, hang: bool = False) -> None:
        self.clock, self.seconds, self.hang = clock, seconds, hang
        self.calls = 0

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        self.calls += 1
        self.clock.now += self.seconds
        if self.hang:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return {"UnprocessedItems": {}}


def _post(sink: DynamoDBSink, n: int) -> tuple[int, dict[str, Any]]:
    resolver = ingest_app.build_resolver(sink, ["jobseek"], emit_emf=False, clock=frozen_clock())
    batch = [metric(metricName=f"M{i}") for i in range(n)]
    answer = resolver.resolve(http_api_event("POST", "/metrics",
                                             body=json.dumps({"metrics": batch})), None)
    return answer["statusCode"], json.loads(answer["body"])


def test_a_slow_table_gets_a_503_with_not_written_inside_the_lambda_timeout() -> None:
    # GIVEN a table answering every BatchWriteItem only after 4 s, and a full batch of 100
    # metrics (4 chunks of 25); a call may start only if its worst case (12 s) ends in budget
    clock = FakeClock()
    table = SlowTable(clock, 4.0)
    sink = DynamoDBSink(TABLE, table, clock=clock, sleep=lambda s: setattr(
        clock, "now", clock.now + s))
    # WHEN the batch is posted
    status, body = _post(sink, 100)
    # THEN the chunks that still fit are written, the rest named, before the Lambda timeout
    assert table.calls == 3 and clock.now == 12.0
    assert status == 503 and body["notWritten"] == list(range(75, 100))
    assert clock.now + budget.HANDLER_MARGIN_S <= budget.LAMBDA_TIMEOUT_S


def test_a_hung_table_fails_fast_after_one_worst_case_call() -> None:
    # GIVEN a table that never answers: botocore gives up after its attempts
    clock = FakeClock()
    table = SlowTable(clock, budget.CALL_WORST_S, hang=True)
    sink = DynamoDBSink(TABLE, table, clock=clock, sleep=lambda s: None)
    # WHEN a batch is posted
    status, body = _post(sink, 30)
    # THEN one call was tried, and every item is named for the client to resend
    assert table.calls == 1 and status == 503 and body["notWritten"] == list(range(30))
    assert clock.now <= budget.WRITE_BUDGET_S < budget.LAMBDA_TIMEOUT_S


def test_the_budget_follows_from_botocores_timeouts_and_fits_api_gateway() -> None:
    # one call: every attempt at its connect + read timeouts, plus standard-mode backoff
    attempts = BOTO_CONFIG.retries["total_max_attempts"]
    per_attempt = BOTO_CONFIG.connect_timeout + BOTO_CONFIG.read_timeout
    backoff = sum(2 ** i for i in range(attempts - 1))  # throttling: rand * 2**i s each
    assert budget.CALL_WORST_S == attempts * per_attempt + backoff == 12.0
    assert budget.CALL_WORST_S <= budget.WRITE_BUDGET_S
    assert budget.WRITE_BUDGET_S + budget.HANDLER_MARGIN_S <= budget.LAMBDA_TIMEOUT_S < 30
