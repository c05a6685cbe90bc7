"""The read API's stack: AppSync with the repository's schema file, its auth modes, resolvers,
the stream event source, and roles that hold exactly what their code calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from analytics.core.permissions import API, permission_of
from central_analytics.graphql_api import API_STACK_NAME, QUERY_DEPTH_LIMIT, RESOLVERS_DIR
from ingest.permissions import REGISTRY_OPERATIONS, TABLE_OPERATIONS
from tests.infra._cdk import REPO, Synth, as_list, policies_of_role, ref_id, synth


@pytest.fixture(scope="module", params=["iam", "sso"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[Synth, dict[str, Any]]:
    context = {"sso": "true"} if request.param == "sso" else {}
    s = synth(Path(tmp_path_factory.mktemp(f"cdk-api-{request.param}")), context)
    stack = s.app.node.find_child(API_STACK_NAME)
    return s, Template.from_stack(stack).to_json()  # type: ignore[arg-type]


def resources(tpl: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == rtype}


def one(tpl: dict[str, Any], rtype: str) -> tuple[str, dict[str, Any]]:
    found = resources(tpl, rtype)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def test_appsync_is_given_the_schema_file_unchanged(api: tuple[Synth, dict[str, Any]]) -> None:
    _, tpl = api
    _, schema = one(tpl, "AWS::AppSync::GraphQLSchema")
    assert schema["Properties"]["Definition"] == (REPO / "api" / "schema.graphql").read_text(
        encoding="utf-8")


def test_auth_modes_iam_and_with_sso_the_user_pool(api: tuple[Synth, dict[str, Any]]) -> None:
    s, tpl = api
    _, graphql = one(tpl, "AWS::AppSync::GraphQLApi")
    props = graphql["Properties"]
    assert props["AuthenticationType"] == "AWS_IAM"
    assert props["QueryDepthLimit"] == QUERY_DEPTH_LIMIT
    assert props["XrayEnabled"] is True
    assert props["LogConfig"]["FieldLogLevel"] == "ERROR"
    extra = props.get("AdditionalAuthenticationProviders", [])
    if s.stack.sso is None:
        assert extra == []
    else:
        [pool] = extra
        assert pool["AuthenticationType"] == "AMAZON_COGNITO_USER_POOLS"
        assert "Fn::ImportValue" in pool["UserPoolConfig"]["UserPoolId"]


def test_every_field_has_its_resolver(api: tuple[Synth, dict[str, Any]]) -> None:
    _, tpl = api
    sources = {k: v["Properties"] for k, v in resources(tpl, "AWS::AppSync::DataSource").items()}
    kinds = {p["Name"]: p["Type"] for p in sources.values()}
    assert sorted(kinds.values()) == ["AWS_LAMBDA", "NONE"]
    by_field = {(r["Properties"]["TypeName"], r["Properties"]["FieldName"]): r["Properties"]
                for r in resources(tpl, "AWS::AppSync::Resolver").values()}
    services = (RESOLVERS_DIR / "services.js").read_text(encoding="utf-8")
    for field in (("Query", "getMetrics"), ("Query", "getRealtimeMetrics"),
                  ("Query", "getCostAnalysis"), ("Mutation", "recordCustomMetric"),
                  ("Subscription", "metricUpdates")):
        props = by_field[field]
        assert kinds[props["DataSourceName"]] == "AWS_LAMBDA", field
        assert props["Runtime"] == {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"}
        assert props["Code"] == services
    publish = by_field[("Mutation", "publishMetricUpdate")]
    assert kinds[publish["DataSourceName"]] == "NONE"
    assert "setSubscriptionFilter" in services


def test_the_stream_event_source(api: tuple[Synth, dict[str, Any]]) -> None:
    _, tpl = api
    _, mapping = one(tpl, "AWS::Lambda::EventSourceMapping")
    props = mapping["Properties"]
    assert props["BatchSize"] == 100
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 3
    assert props["StartingPosition"] == "LATEST"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["FilterCriteria"] == {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'}]}
    assert "Fn::ImportValue" in props["EventSourceArn"]  # the main stack's table stream
    queue_id, queue = one(tpl, "AWS::SQS::Queue")
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [queue_id, "Arn"]}
    assert queue["Properties"]["SqsManagedSseEnabled"] is True


def _statements(tpl: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    shim = Synth.__new__(Synth)
    shim.tpl = tpl
    return policies_of_role(shim, role_id)


def _function_role(tpl: dict[str, Any], description: str) -> str:
    for fn in resources(tpl, "AWS::Lambda::Function").values():
        if fn["Properties"].get("Description", "").startswith(description):
            role = ref_id(fn["Properties"]["Role"])
            assert role is not None
            return role
    raise AssertionError(description)


def test_the_publisher_may_call_only_the_publish_mutation(
        api: tuple[Synth, dict[str, Any]]) -> None:
    _, tpl = api
    statements = _statements(tpl, _function_role(tpl, "Central Analytics: new metric items"))
    appsync = [s for s in statements if "appsync:GraphQL" in as_list(s["Action"])]
    [grant] = appsync
    resource = grant["Resource"]["Fn::Join"][1]
    assert resource[-1] == "/types/Mutation/fields/publishMetricUpdate"
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions <= {"appsync:GraphQL", "logs:CreateLogStream", "logs:PutLogEvents",
                       "dynamodb:ListStreams", "dynamodb:DescribeStream",
                       "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                       "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}


def test_the_resolver_role_holds_the_apis_operations_and_the_ingest_writes(
        api: tuple[Synth, dict[str, Any]]) -> None:
    _, tpl = api
    statements = _statements(tpl, _function_role(tpl, "Central Analytics read API"))
    actions = {a for s in statements for a in as_list(s["Action"])}
    expected = ({p.action for p in API} | set(TABLE_OPERATIONS.values())
                | set(REGISTRY_OPERATIONS.values())
                | {"logs:CreateLogStream", "logs:PutLogEvents"})
    assert actions == expected
    assert not {"cloudwatch:DescribeAlarms", "logs:StartQuery", "dynamodb:GetItem",
                "dynamodb:PutItem"} & actions
    query = [s for s in statements if "dynamodb:Query" in as_list(s["Action"])]
    assert all("Fn::ImportValue" in str(s["Resource"]) for s in query)  # the metrics table only


def test_the_api_operations_are_declared_dashboard_operations() -> None:
    for permission in API:
        assert permission_of(permission.operation) == permission
