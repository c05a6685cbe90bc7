"""The pipeline's aws sources: rollups in DynamoDB, packs in S3 with an SNS summary, runs as
Step Functions executions.

Why DynamoDB and not Parquet on S3 for the rollups: they are tiny (one item of a few KB per app
and day, ~1 MB per app-year), read by key range (one Query per app for a 2-year chart, no
Athena, no scanning of files), and written by key, so a re-run's PutItem replaces the day in
place — idempotency for free, where Parquet would need a rewrite of the day's file. The table
also gets what the metrics table has: PITR, AWS Backup and global-table replicas for the second
region.

Item layout (one table): rollups ``pk = "app#<id>"``, ``sk = "<YYYY-MM-DD>"``; runs
``pk = "run"``, ``sk = "<started ms, zero-padded>#<run id>"``, so both are single-partition
range queries. The body is the record's JSON (an exact float round trip, one codec for both
backends).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from analytics.core.aws_clients import AwsClients
from analytics.pipeline.model import PipelineError, Rollup, RunRecord, RunRequest, event_of
from analytics.pipeline.source import StoredReport

MAX_BATCH = 25  # BatchWriteItem's limit
RUN_PK = "run"


def rollup_item(r: Rollup) -> dict[str, Any]:
    return {"pk": {"S": f"app#{r.app}"}, "sk": {"S": r.day.isoformat()},
            "data": {"S": r.to_json()}, "computedMs": {"N": str(r.computed_ms)}}


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's billed size of an item: attribute names plus values (strings as UTF-8,
    numbers ~1 byte per 2 digits + 1)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        (kind, v), = value.items()
        size += len(str(v).encode()) if kind == "S" else (len(str(v)) + 1) // 2 + 1
    return size


class AwsRollups:
    """``sleep``/``jitter`` pace the resend of unprocessed batch items (exponential backoff)."""

    def __init__(self, *, clients: AwsClients, table: str,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random, max_rounds: int = 8) -> None:
        self.clients, self.table = clients, table
        self.sleep, self.jitter, self.max_rounds = sleep, jitter, max_rounds

    def _ddb(self) -> Any:
        return self.clients.client("dynamodb")

    def put_rollups(self, rollups: Sequence[Rollup]) -> int:
        written = 0
        for i in range(0, len(rollups), MAX_BATCH):
            chunk = rollups[i:i + MAX_BATCH]
            pending = [{"PutRequest": {"Item": rollup_item(r)}} for r in chunk]
            for attempt in range(self.max_rounds):
                out = self._ddb().batch_write_item(RequestItems={self.table: pending})
                pending = out.get("UnprocessedItems", {}).get(self.table, [])
                if not pending:
                    break
                self.sleep(min(5.0, 0.05 * 2 ** attempt) * (0.5 + self.jitter()))
            if pending:
                raise RuntimeError(f"DynamoDB kept {len(pending)} rollups unprocessed after "
                                   f"{self.max_rounds} rounds; re-run the day (it is "
                                   "idempotent)")
            written += len(chunk)
        return written

    def get_rollups(self, app_ids: Sequence[str], *, start: date, end: date) -> list[Rollup]:
        if end <= start:
            return []
        pages = self._ddb().get_paginator("query")
        out: list[Rollup] = []
        for app in app_ids:
            for page in pages.paginate(
                    TableName=self.table,
                    KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
                    ExpressionAttributeValues={
                        ":pk": {"S": f"app#{app}"}, ":lo": {"S": start.isoformat()},
                        ":hi": {"S": (end - timedelta(days=1)).isoformat()}}):
                for item in page.get("Items", []):
                    out.append(Rollup.from_json(app, date.fromisoformat(item["sk"]["S"]),
                                                item["data"]["S"], int(item["computedMs"]["N"])))
        return out

    def put_run(self, run: RunRecord) -> None:
        self._ddb().put_item(TableName=self.table, Item={
            "pk": {"S": RUN_PK}, "sk": {"S": f"{run.started_ms:015d}#{run.run_id}"},
            "data": {"S": run.to_json()}})

    def list_runs(self, *, limit: int = 20) -> list[RunRecord]:
        out = self._ddb().query(TableName=self.table, KeyConditionExpression="pk = :pk",
                                ExpressionAttributeValues={":pk": {"S": RUN_PK}},
                                ScanIndexForward=False, Limit=limit)
        return [RunRecord.from_json(i["data"]["S"]) for i in out.get("Items", [])]


class AwsReports:
    """The reports bucket (packs under ``reports/``, step data under ``staging/``) and the
    reports topic. Without a topic, ``notify`` does nothing (the packs are still stored)."""

    def __init__(self, *, clients: AwsClients, bucket: str | None,
                 topic_arn: str | None = None) -> None:
        self.clients, self._bucket, self.topic_arn = clients, bucket, topic_arn

    @property
    def bucket(self) -> str:
        if not self._bucket:
            raise RuntimeError("REPORTS_BUCKET is not set: the stack's ReportsBucketName output")
        return self._bucket

    def _s3(self) -> Any:
        return self.clients.client("s3")

    def put(self, key: str, body: bytes, *, content_type: str) -> str:
        self._s3().put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        return f"s3://{self.bucket}/{key}"

    def get(self, key: str) -> bytes:
        body = self._s3().get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self._s3().delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str) -> list[StoredReport]:
        if not self._bucket:  # no pipeline deployed (yet): nothing was delivered
            return []
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                     Prefix=prefix)
        out = [StoredReport(o["Key"], int(o["Size"]), int(o["LastModified"].timestamp() * 1000),
                            f"s3://{self.bucket}/{o['Key']}")
               for page in pages for o in page.get("Contents", [])]
        return sorted(out, key=lambda r: (r.modified_ms, r.key), reverse=True)

    def link(self, key: str, *, expires_s: int) -> str:
        return str(self._s3().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s))

    def notify(self, subject: str, message: str) -> None:
        if self.topic_arn:
            self.clients.client("sns").publish(TopicArn=self.topic_arn,
                                               Subject=subject[:100], Message=message)


class AwsRunner:
    """StartExecution on the pipeline's state machine. The execution name is the request plus
    the hour, and Step Functions refuses a name it has seen in the last 90 days: a second click
    on the same backfill within the hour is refused instead of running it twice."""

    def __init__(self, *, clients: AwsClients, state_machine_arn: str | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.clients, self.arn, self.clock = clients, state_machine_arn, clock

    def start(self, request: RunRequest, *, trigger: str) -> str:
        if not self.arn:
            raise RuntimeError("PIPELINE_STATE_MACHINE_ARN is not set: the stack's "
                               "PipelineStateMachineArn output")
        hour = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H")
        name = f"{trigger}-{request.mode}-{request.start}-{request.end}-{hour}"[:80]
        try:
            out = self.clients.client("stepfunctions").start_execution(
                stateMachineArn=self.arn, name=name,
                input=json.dumps({**event_of(request), "trigger": trigger}))
        except ClientError as exc:
            err = exc.response.get("Error", {})
            if err.get("Code") == "ExecutionAlreadyExists":
                raise PipelineError(f"this run was already started this hour ({name}): "
                                    "follow it in the runs above") from None
            raise RuntimeError(f"Step Functions refused the run: {err.get('Code')}: "
                               f"{err.get('Message')}") from exc
        return str(out["executionArn"])
