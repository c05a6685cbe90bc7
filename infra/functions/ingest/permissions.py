"""The AWS operations the ingest function's code calls, and the IAM action each needs.

The CDK app builds the function's role from this table (on the metrics table only), and a test
runs the handler against a moto table, records every operation it called and checks each one
against the synthesized role. Writing its own logs is the Lambda runtime's, not the code's, and
is granted separately. No imports: the CDK app reads it.
"""

from __future__ import annotations

#: ``"<botocore service>.<Operation>"`` -> IAM action, every one on the metrics table.
TABLE_OPERATIONS: dict[str, str] = {
    "dynamodb.BatchWriteItem": "dynamodb:BatchWriteItem",
}

#: The series registry (cardinality caps), items under their own key prefix only: a
#: TransactWriteItems of updates is authorised per item as ``dynamodb:UpdateItem``.
REGISTRY_OPERATIONS: dict[str, str] = {
    "dynamodb.BatchGetItem": "dynamodb:BatchGetItem",
    "dynamodb.TransactWriteItems": "dynamodb:UpdateItem",
}
