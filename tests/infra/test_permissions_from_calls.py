"""Every AWS call the dashboard makes is allowed by the task role the CDK app synthesizes, on the
resource it touches; every call the ingest Lambda makes, by the Lambda's role.

The dashboard's tour runs the aws backend the way users do, against a moto server started here:
every page rendered with AppTest (Overview, Performance of a listed and of a tag-discovered app,
7 days with S3, Realtime, Alarms by prefix and by tags, Costs, Setup, which runs the doctor),
plus the two lookups moto's Tagging API cannot lead to (API Gateway names and stages) and a
cold-start query on a custom log group. A recorder on the client factory keeps each call with
its parameters; :mod:`tests.infra.iam_eval` says which action and ARN AWS checks for it and
evaluates the synthesized policy. Any other test that calls an undeclared operation fails
anyway: the factory refuses it.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.catalog import load_catalog
from analytics.core.permissions import DASHBOARD
from analytics.core.settings import load_settings
from analytics.performance.aws import AwsPerformance
from analytics.performance.discovery import ApiRef
from analytics.performance.insights import JSON, LogSetup
from analytics.sources import Runtime, build_runtime, set_runtime
from ingest.permissions import TABLE_OPERATIONS
from tests.aws_account import (
    REGION,
    REST_ID,
    TABLE,
    Account,
    catalog_toml,
    client,
    moto_server,
    patch_moto_gaps,
    seed_account,
    server_env,
)
from tests.conftest import frozen_clock
from tests.helpers import signed_in_app
from tests.infra._cdk import Synth, policies_of_role, ref_id, synth
from tests.infra.iam_eval import ACCOUNT, Recorded, allowed, authorization

EXTRA_APPS = """
[apps.labs]
display_name = "Labs"
cost_tag = "labs"
namespace = "Labs/Business"
alarm_prefix = "labs-"

[apps.ops]
display_name = "Ops"
cost_tag = "ops"
namespace = "Ops/Business"

[apps.ops.alarms]
tags = { Team = "ops" }
"""
CUSTOM_GROUP = "/teams/shop/checkout"
TAGGED_FN = "labs-worker"


def _extra(account: Account) -> None:
    """A function known only by its tag, and an alarm selected by its tags."""
    url = account.url
    role = client(url, "iam").get_role(RoleName="fn")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("h.py", "def h(e, c):\n    return 1\n")
    client(url, "lambda").create_function(
        FunctionName=TAGGED_FN, Runtime="python3.12", Handler="h.h", Role=role,
        Code={"ZipFile": buf.getvalue()}, Tags={"Application": "labs"})
    client(url, "logs").create_log_group(logGroupName=f"/aws/lambda/{TAGGED_FN}")
    client(url, "cloudwatch").put_metric_alarm(
        AlarmName="queue-depth", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessages",
        Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=100.0,
        ComparisonOperator="GreaterThanThreshold", Tags=[{"Key": "Team", "Value": "ops"}])


def _recording(recorded: list[Recorded], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client the factory hands out records each call (with its parameters)."""
    original = AwsClients.client
    hooked: set[int] = set()

    def client_with_recorder(self: AwsClients, service: str, *, region: str | None = None) -> Any:
        c = original(self, service, region=region)
        if id(c) not in hooked:
            hooked.add(id(c))
            c.meta.events.register("before-parameter-build", lambda params, model, **_: (
                recorded.append(Recorded(f"{model.service_model.service_name}.{model.name}",
                                         copy.deepcopy(params), c.meta.region_name))))
        return c

    monkeypatch.setattr(AwsClients, "client", client_with_recorder)


def _pages(rt: Runtime) -> None:
    for page, query in (
            ("app_pages/overview.py", {}), ("app_pages/performance.py", {"app": "shop"}),
            ("app_pages/performance.py", {"app": "shop", "range": "7d", "open": "s3"}),
            ("app_pages/performance.py", {"app": "labs"}), ("app_pages/realtime.py",
                                                              {"app": "shop"}),
            ("app_pages/alarms.py", {}), ("app_pages/costs.py", {}),
            ("app_pages/setup.py", {})):
        at = signed_in_app(page, query=query).run()
        assert not at.exception, (page, [e.value for e in at.exception])


def _lookups(rt: Runtime, account: Account) -> None:
    """What tag discovery would look up, had moto's Tagging API returned API Gateway ARNs,
    and a function logging to a custom group."""
    perf = cast(AwsPerformance, rt.sources.performance)
    perf._api(ApiRef(REST_ID, "rest"))  # name, then its stages
    perf._api(ApiRef(account.http_ids["shop"], "http", "live"))
    custom = AwsPerformance(clients=perf.clients, log_setup=lambda fn: LogSetup(
        fn, CUSTOM_GROUP, JSON))
    end = account.now.replace(second=0, microsecond=0)
    custom.cold_starts(["shop-checkout"], start=end - timedelta(hours=1), end=end)


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Recorded], Path]]:
    """The recorded calls of the tour, and the apps.toml it ran with."""
    recorded: list[Recorded] = []
    with pytest.MonkeyPatch.context() as mp, moto_server() as url:
        patch_moto_gaps(mp)
        account = seed_account(url)
        _extra(account)
        apps = tmp_path_factory.mktemp("tour") / "apps.toml"
        apps.write_text(catalog_toml(account.http_ids["shop"], account.http_ids["blog"])
                        + EXTRA_APPS)
        for k, v in server_env(url).items():
            mp.setenv(k, v)
        _recording(recorded, mp)
        settings = load_settings(server_env(url, ANALYTICS_PAGE_DEADLINE_S="60"), secrets={})
        clock = account.clock()
        rt = build_runtime(settings, cache=QueryCache(clock=clock), catalog=load_catalog(apps),
                           clock=clock)
        set_runtime(rt)
        try:
            _pages(rt)
            _lookups(rt, account)
            # a sign-out: the session joins the deny-list until its cookie would expire
            rt.security.revoked.revoke("tour-session", until=account.now.timestamp() + 3600)
        finally:
            set_runtime(None)
        yield recorded, apps


@pytest.fixture(scope="module")
def stack(tour: tuple[list[Recorded], Path], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The stack synthesized for the tour's catalog, with the custom log groups configured."""
    return synth(tmp_path_factory.mktemp("cdk-iam"), {
        "catalog_path": str(tour[1]), "log_group_patterns": "/teams/shop/*"})


def _refs(s: Synth) -> dict[str, str]:
    table_id = s.one("AWS::DynamoDB::Table")[0]
    log_ids = [k for k in s.resources("AWS::Logs::LogGroup")]
    refs = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION,
            "AWS::URLSuffix": "amazonaws.com",
            f"{table_id}.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"}
    refs |= {f"{k}.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{k}:*" for k in log_ids}
    return refs


def _task_role_statements(s: Synth) -> list[dict[str, Any]]:
    return policies_of_role(s, ref_id(s.props("AWS::ECS::TaskDefinition")["TaskRoleArn"]) or "")


#: The pipeline's table: its stack, not the main one, grants the dashboard's Query on it.
ROLLUPS_TABLE = "central-analytics-rollups"
TAGS = {f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{TAGGED_FN}": {"Application": "labs"}}


def test_the_tour_called_every_declared_operation(tour: tuple[list[Recorded], Path]) -> None:
    # GIVEN every call of the tour
    called = {c.api for c in tour[0]}
    # THEN each one is declared, and every declared operation was exercised (no dead grant)
    declared = {p.operation for p in DASHBOARD}
    assert called <= declared, called - declared
    assert declared <= called, f"never called by the tour: {sorted(declared - called)}"


def test_every_call_is_allowed_by_the_synthesized_task_role(
        tour: tuple[list[Recorded], Path], stack: Synth) -> None:
    # GIVEN the task role's statements and the calls, one per action and resource
    statements = _task_role_statements(stack)
    refs = _refs(stack)
    seen: dict[tuple[str, tuple[str, ...]], Recorded] = {}
    for call in tour[0]:
        if call.params.get("TableName") == ROLLUPS_TABLE:
            continue  # the pipeline stack grants this read (test_infra_pipeline asserts it)
        action, resources = authorization(call)
        seen.setdefault((action, tuple(resources)), call)
    # WHEN each is evaluated the way IAM would
    refused = [f"{action} on {', '.join(res)} ({call.api})"
               for (action, res), call in sorted(seen.items())
               if not allowed(call, statements, refs, tags=TAGS)]
    # THEN nothing is refused, scoped resources included
    assert refused == []
    scoped = {a for (a, res) in seen if res != ("*",)}
    assert {"logs:StartQuery", "lambda:GetFunctionConfiguration", "apigateway:GET",
            "dynamodb:Query", "rds:DescribeDBInstances"} <= scoped
    assert any(CUSTOM_GROUP in r for (_, res) in seen for r in res)
    assert any(TAGGED_FN in r for (_, res) in seen for r in res)


def test_the_scoping_refuses_what_the_dashboard_does_not_need(stack: Synth) -> None:
    # GIVEN calls the dashboard never makes on resources outside its scopes
    statements, refs = _task_role_statements(stack), _refs(stack)
    outside = [
        Recorded("logs.StartQuery", {"logGroupName": "/secret/payroll"}, REGION),
        Recorded("lambda.GetFunctionConfiguration", {"FunctionName": "someone-elses"}, REGION),
        Recorded("dynamodb.Query", {"TableName": "payroll"}, REGION),
        Recorded("dynamodb.PutItem", {"TableName": TABLE}, REGION),
        Recorded("rds.DescribeDBInstances", {"DBInstanceIdentifier": "other-db"}, REGION),
    ]
    # WHEN evaluated, THEN each is refused (the untagged function too)
    assert [allowed(c, statements, refs, tags={}) for c in outside] == [False] * 5
    labs = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{TAGGED_FN}"
    tagged = Recorded("lambda.GetFunctionConfiguration", {"FunctionName": TAGGED_FN}, REGION)
    assert allowed(tagged, statements, refs, tags={labs: {"Application": "labs"}})
    assert not allowed(tagged, statements, refs, tags={labs: {"Application": "other"}})


def test_every_ingest_call_is_allowed_by_the_lambda_role(stack: Synth) -> None:
    # GIVEN the ingest handler writing a batch of 60 metrics to a (moto) table, recorded
    from ingest import app as ingest_app
    from ingest.events import http_api_event
    from ingest.sinks import BOTO_CONFIG, DynamoDBSink

    recorded: list[Recorded] = []
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION, config=BOTO_CONFIG)
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                                    {"AttributeName": "timestamp", "KeyType": "RANGE"}],
                         AttributeDefinitions=[
                             {"AttributeName": "metricId", "AttributeType": "S"},
                             {"AttributeName": "timestamp", "AttributeType": "N"}])
        ddb.meta.events.register("before-parameter-build", lambda params, model, **_: (
            recorded.append(Recorded(f"{model.service_model.service_name}.{model.name}",
                                     copy.deepcopy(params), REGION))))
        recorded.clear()  # CreateTable was the test's own call
        resolver = ingest_app.build_resolver(DynamoDBSink(TABLE, ddb), ["shop"], emit_emf=False,
                                             clock=frozen_clock())
        body = {"metrics": [{"applicationId": "shop", "metricName": f"M{i}", "value": i}
                            for i in range(60)]}
        answer = resolver.resolve(http_api_event("POST", "/metrics", body=json.dumps(body)),
                                  None)
    assert answer["statusCode"] == 202
    # THEN every operation is in the function's table and allowed by its synthesized role
    assert {c.api for c in recorded} == set(TABLE_OPERATIONS)
    fn = next(r for r in stack.resources("AWS::Lambda::Function").values()
              if r["Properties"].get("Handler") == "ingest.app.lambda_handler")
    statements = policies_of_role(stack, ref_id(fn["Properties"]["Role"]) or "")
    refs = _refs(stack)
    assert all(allowed(c, statements, refs, tags={}) for c in recorded)
    assert not allowed(Recorded("dynamodb.PutItem", {"TableName": TABLE}, REGION), statements,
                       refs, tags={})
