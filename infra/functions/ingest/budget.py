"""How long one ingest request may spend writing, and the Lambda timeout that follows from it.

The contract promises a 503 naming the items not written (``notWritten``) whenever storage is
slow or failing. That only holds if the function finishes before Lambda (or API Gateway, whose
HTTP API integrations end at 30 s) cuts it off, so the numbers are derived in one direction:
one DynamoDB call's worst case from botocore's timeouts and attempts, the sink's budget from
that, the Lambda timeout from the budget, all under API Gateway's 30 s. No imports: the CDK
app reads these numbers too.
"""

from __future__ import annotations

#: botocore, per DynamoDB call: connect and read timeouts (s) and attempts in all.
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 2.0
TOTAL_ATTEMPTS = 3
#: botocore's standard-mode backoff before retry i (0-based) is at most 2**i s (throttling).
BACKOFF_CAP_S = sum(2.0 ** i for i in range(TOTAL_ATTEMPTS - 1))
#: The longest one BatchWriteItem call can take before botocore gives up on it.
CALL_WORST_S = TOTAL_ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + BACKOFF_CAP_S
#: The sink starts no call (and no backoff sleep) that could end after this many seconds.
WRITE_BUDGET_S = 20.0
#: Validation, EMF output and the response around the writes (generous: ~100 items).
HANDLER_MARGIN_S = 5.0
#: API Gateway HTTP APIs end an integration at 30 s: the function must answer before.
API_GATEWAY_LIMIT_S = 30.0
LAMBDA_TIMEOUT_S = int(WRITE_BUDGET_S + HANDLER_MARGIN_S)

assert CALL_WORST_S <= WRITE_BUDGET_S, "one call must fit in the write budget"
assert LAMBDA_TIMEOUT_S < API_GATEWAY_LIMIT_S, "the Lambda must answer before API Gateway"
