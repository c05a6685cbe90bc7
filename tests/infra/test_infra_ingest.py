"""Ingest: Lambda runtime/arch/layer/env, HTTP API routes with IAM auth, logs, throttling, IAM."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_lambda

from central_analytics.config import load_config
from central_analytics.ingest_api import newest_python_runtime, powertools_layer_arn
from tests.infra._cdk import (
    REPO,
    Synth,
    actions_of,
    as_list,
    catalog,
    policies_of_role,
    ref_id,
    synth,
)

POWERTOOLS_ARN = re.compile(
    r"^arn:aws:lambda:us-east-1:017000801446:layer:"
    r"AWSLambdaPowertoolsPythonV3-python314-arm64:\d+$"
)


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-ingest")))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(
        Path(tmp_path_factory.mktemp("cdk-ingest-tuned")),
        {"ingest_rate_limit": "7", "ingest_burst_limit": "9", "powertools_layer_version": "41",
         "retention_days": "30"},
    )


def _fn(s: Synth) -> tuple[str, dict[str, Any]]:
    return s.one("AWS::Lambda::Function")


def test_lambda_uses_newest_python_runtime_on_arm64() -> None:
    from central_analytics.ingest_api import newest_python_runtime

    assert hasattr(aws_lambda.Runtime, "PYTHON_3_14"), "aws-cdk-lib 2.275 offers python3.14"
    assert newest_python_runtime().name == "python3.14"


def test_lambda_runtime_arch_handler(s: Synth) -> None:
    props = _fn(s)[1]["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "ingest.app.lambda_handler"


def test_handler_exists_in_ingest_code() -> None:
    """Contract with infra/functions/ingest: the configured handler is defined in app.py."""
    app_py = REPO / "infra" / "functions" / "ingest" / "app.py"
    if not app_py.is_file():
        pytest.skip("infra/functions/ingest/app.py not written yet")
    tree = ast.parse(app_py.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
              if isinstance(t, ast.Name)}
    assert "lambda_handler" in names


def test_lambda_uses_powertools_public_layer_no_bundling(s: Synth, tuned: Synth) -> None:
    layers = _fn(s)[1]["Properties"]["Layers"]
    assert len(layers) == 1 and POWERTOOLS_ARN.match(layers[0]), layers
    assert _fn(tuned)[1]["Properties"]["Layers"][0].endswith("-python314-arm64:41")
    assert not s.resources("AWS::Lambda::LayerVersion"), "no locally bundled layer"


def test_lambda_environment(s: Synth, tuned: Synth) -> None:
    env = _fn(s)[1]["Properties"]["Environment"]["Variables"]
    table_id = s.one("AWS::DynamoDB::Table")[0]
    assert env["METRICS_TABLE"] == {"Ref": table_id}
    assert env["ALLOWED_APPLICATIONS"].split(",") == sorted(catalog())
    assert env["RETENTION_DAYS"] == "90"
    assert env["POWERTOOLS_SERVICE_NAME"] == "central-analytics-ingest"
    assert env["POWERTOOLS_METRICS_NAMESPACE"]
    namespaces = dict(pair.split("=", 1) for pair in env["APP_NAMESPACES"].split(","))
    assert namespaces == {app: body["namespace"] for app, body in catalog().items()}
    assert _fn(tuned)[1]["Properties"]["Environment"]["Variables"]["RETENTION_DAYS"] == "30"


def test_lambda_code_asset_excludes_tests_and_caches(s: Synth) -> None:
    key = _fn(s)[1]["Properties"]["Code"]["S3Key"]
    asset_dir = s.outdir / f"asset.{key.removesuffix('.zip')}"
    assert asset_dir.is_dir()
    names = {p.name for p in asset_dir.rglob("*")}
    assert not names & {"tests", "__pycache__"}
    assert not any(n.endswith(".pyc") for n in names)


def test_http_api_routes_use_iam_authorization(s: Synth) -> None:
    routes = s.resources("AWS::ApiGatewayV2::Route")
    by_key = {r["Properties"]["RouteKey"]: r["Properties"] for r in routes.values()}
    assert set(by_key) == {"POST /metrics", "GET /health"}
    for props in by_key.values():
        assert props["AuthorizationType"] == "AWS_IAM"
    assert s.props("AWS::ApiGatewayV2::Api")["ProtocolType"] == "HTTP"
    integration = s.props("AWS::ApiGatewayV2::Integration")
    assert integration["IntegrationType"] == "AWS_PROXY"
    fn_id = _fn(s)[0]
    assert ref_id(integration["IntegrationUri"]) == fn_id


def test_stage_has_access_logging_to_a_log_group(s: Synth) -> None:
    stage = s.props("AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    logs = stage["AccessLogSettings"]
    log_group_id = ref_id(logs["DestinationArn"])
    assert s.tpl["Resources"][log_group_id]["Type"] == "AWS::Logs::LogGroup"
    fields = json.loads(logs["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["caller"] == "$context.identity.userArn"
    assert s.tpl["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30


def test_stage_throttling(s: Synth, tuned: Synth) -> None:
    settings = s.props("AWS::ApiGatewayV2::Stage")["DefaultRouteSettings"]
    assert settings == {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100}
    tuned_settings = tuned.props("AWS::ApiGatewayV2::Stage")["DefaultRouteSettings"]
    assert tuned_settings == {"ThrottlingRateLimit": 7, "ThrottlingBurstLimit": 9}


def test_lambda_role_can_only_write_table_items_and_its_logs(s: Synth) -> None:
    props = _fn(s)[1]["Properties"]
    role_id = ref_id(props["Role"])
    role = s.tpl["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role, "no AWS managed policy (no broad logs:*)"
    stmts = policies_of_role(s, role_id)
    assert actions_of(stmts) == {  # PutItem is gone: the code only calls BatchWriteItem
        "dynamodb:BatchWriteItem", "logs:CreateLogStream", "logs:PutLogEvents",
        "dynamodb:BatchGetItem", "dynamodb:UpdateItem",  # the series registry's own items
    }
    table_id = s.one("AWS::DynamoDB::Table")[0]
    log_group_id = ref_id(props["LoggingConfig"]["LogGroup"])
    for st in stmts:
        assert st["Effect"] == "Allow"
        resources = as_list(st["Resource"])
        if any(a.startswith("dynamodb:") for a in as_list(st["Action"])):
            assert resources == [{"Fn::GetAtt": [table_id, "Arn"]}]
        else:
            assert resources == [{"Fn::GetAtt": [log_group_id, "Arn"]}]


def test_managed_invoke_policy_allows_only_the_two_routes(s: Synth) -> None:
    doc = s.props("AWS::IAM::ManagedPolicy")["PolicyDocument"]
    (st,) = doc["Statement"]
    assert st["Action"] == "execute-api:Invoke"
    rendered = json.dumps(st["Resource"])
    assert "/$default/POST/metrics" in rendered and "/$default/GET/health" in rendered
    assert "*" not in rendered
    outputs = s.tpl["Outputs"]
    assert st["Resource"] == [outputs["IngestMetricsRouteArn"]["Value"],
                              outputs["IngestHealthRouteArn"]["Value"]]
    assert ref_id(outputs["IngestInvokePolicyArn"]["Value"]) == s.one("AWS::IAM::ManagedPolicy")[0]
    assert "IngestApiUrl" in outputs


def test_powertools_arn_override_wins() -> None:
    arn = (
        "arn:aws:lambda:us-east-1:017000801446:layer:"
        "AWSLambdaPowertoolsPythonV3-python314-arm64:9"
    )
    cfg = load_config({"powertools_layer_arn": arn})
    assert powertools_layer_arn(cfg, newest_python_runtime()) == arn
    cfg = load_config({"region": "eu-west-1"})
    assert powertools_layer_arn(cfg, newest_python_runtime()).startswith(
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:"
    )


def test_lambda_timeout_is_sized_from_the_write_budget(s: Synth) -> None:
    # GIVEN the function's write budget (ingest/budget.py)
    from ingest import budget

    # WHEN the stack is synthesized
    timeout = _fn(s)[1]["Properties"]["Timeout"]
    # THEN the function outlives its slowest writes and still answers before API Gateway's 30 s
    assert timeout == budget.LAMBDA_TIMEOUT_S == 25
    assert budget.WRITE_BUDGET_S + budget.HANDLER_MARGIN_S <= timeout < 30
