"""Dashboard service: Fargate + ALB, HTTPS, stickiness, timeouts, scaling, secrets, task role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra._cdk import (
    CERT_ARN,
    Synth,
    actions_of,
    as_list,
    catalog,
    policies_of_role,
    ref_id,
    synth,
)

ALLOWED_TASK_ACTIONS = {
    "dynamodb:GetItem",  # the deny-list of signed-out sessions (its own key prefix only)
    "dynamodb:PutItem",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DescribeAlarmHistory",
    "logs:StartQuery",
    "logs:GetQueryResults",
    "logs:StopQuery",  # a timed-out query must stop scanning (and billing)
    "ce:GetCostAndUsage",
    "ce:GetCostForecast",
    "ce:GetAnomalies",
    "ce:ListCostAllocationTags",  # is the Application tag active?
    "dynamodb:Query",
    "dynamodb:DescribeTable",  # the doctor: the metrics table and catalog tables
    "dynamodb:DescribeTimeToLive",
    "dynamodb:DescribeContinuousBackups",
    "lambda:GetFunctionConfiguration",  # log format, log group, SnapStart
    "apigateway:GET",  # REST API names and stages
    "rds:DescribeDBInstances",  # the doctor: catalog instances exist
    "tag:GetResources",
    # the shared cache tier (on by default: the service may scale to 4 tasks); IAM auth
    "elasticache:Connect",
}


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-dash")))


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-dash-https")), {"certificate_arn": CERT_ARN})


def _container(s: Synth) -> dict[str, Any]:
    (container,) = s.props("AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    return container


def _listeners(s: Synth) -> list[dict[str, Any]]:
    return [r["Properties"] for r in s.resources("AWS::ElasticLoadBalancingV2::Listener").values()]


def test_alb_idle_timeout_is_an_hour(s: Synth) -> None:
    attrs = {a["Key"]: a["Value"] for a in
             s.props("AWS::ElasticLoadBalancingV2::LoadBalancer")["LoadBalancerAttributes"]}
    assert int(attrs["idle_timeout.timeout_seconds"]) == 3600
    assert attrs["access_logs.s3.enabled"] == "true"
    bucket_id = ref_id(attrs["access_logs.s3.bucket"])
    assert s.tpl["Resources"][bucket_id]["Type"] == "AWS::S3::Bucket"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_access_log_bucket_enforces_ssl(s: Synth) -> None:
    bucket_id, bucket = s.one("AWS::S3::Bucket")
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    policy = s.props("AWS::S3::BucketPolicy")
    assert ref_id(policy["Bucket"]) == bucket_id
    deny = [st for st in policy["PolicyDocument"]["Statement"] if st["Effect"] == "Deny"]
    assert any(st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in deny)


def test_target_group_stickiness_and_health_check(s: Synth) -> None:
    tg = s.props("AWS::ElasticLoadBalancingV2::TargetGroup")
    attrs = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    assert attrs["stickiness.enabled"] == "true"
    assert attrs["stickiness.type"] == "lb_cookie"
    assert int(attrs["stickiness.lb_cookie.duration_seconds"]) >= 3600
    assert tg["HealthCheckPath"] == "/_stcore/health"
    assert tg["Matcher"] == {"HttpCode": "200"}
    assert tg["TargetType"] == "ip"


def test_http_only_without_certificate(s: Synth) -> None:
    listeners = _listeners(s)
    assert [(li["Port"], li["Protocol"]) for li in listeners] == [(80, "HTTP")]
    assert "Certificates" not in listeners[0]
    assert listeners[0]["DefaultActions"][0]["Type"] == "forward"
    assert s.tpl["Outputs"]["DashboardUrl"]["Value"]["Fn::Join"][1][0] == "http://"


def test_https_with_certificate_and_redirect(https: Synth) -> None:
    by_port = {li["Port"]: li for li in _listeners(https)}
    assert set(by_port) == {80, 443}
    assert by_port[443]["Protocol"] == "HTTPS"
    assert by_port[443]["Certificates"] == [{"CertificateArn": CERT_ARN}]
    assert by_port[443]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    (redirect,) = by_port[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["Port"] == "443"
    assert https.tpl["Outputs"]["DashboardUrl"]["Value"]["Fn::Join"][1][0] == "https://"


def test_cpu_autoscaling_1_to_4_at_60_percent(s: Synth) -> None:
    target = s.props("AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    policy = s.props("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    cfg = policy["TargetTrackingScalingPolicyConfiguration"]
    assert cfg["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization"
    )
    assert cfg["TargetValue"] == 60


def test_service_runs_in_public_subnets_without_nat(s: Synth) -> None:
    service = s.props("AWS::ECS::Service")
    assert service["LaunchType"] == "FARGATE"
    assert service["DesiredCount"] == 1
    net = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert net["AssignPublicIp"] == "ENABLED"
    assert not s.resources("AWS::EC2::NatGateway")
    assert service["PropagateTags"] == "SERVICE"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True, "Rollback": True}
    ingress = s.props("AWS::EC2::SecurityGroupIngress")  # task SG: only from the ALB SG
    assert ingress["FromPort"] == 8501 and "SourceSecurityGroupId" in ingress


def test_vpc_flow_logs_and_container_insights(s: Synth) -> None:
    flow = s.props("AWS::EC2::FlowLog")
    assert flow["ResourceType"] == "VPC" and flow["TrafficType"] == "ALL"
    settings = s.props("AWS::ECS::Cluster")["ClusterSettings"]
    assert {"Name": "containerInsights", "Value": "enabled"} in settings


def test_container_port_env_and_image(s: Synth) -> None:
    c = _container(s)
    assert c["PortMappings"] == [{"ContainerPort": 8501, "Protocol": "tcp"}]
    env = {e["Name"]: e["Value"] for e in c["Environment"]}
    assert env["ANALYTICS_BACKEND"] == "aws"
    assert env["METRICS_TABLE"] == {"Ref": s.one("AWS::DynamoDB::Table")[0]}
    assert env["AWS_REGION"] == "us-east-1"
    assert "container-assets" in json.dumps(c["Image"])
    assert c["LogConfiguration"]["LogDriver"] == "awslogs"


def test_image_asset_is_built_from_root_dockerfile(s: Synth) -> None:
    assets = json.loads((s.outdir / "CentralAnalytics.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    source = image["source"]
    assert source.get("dockerFile", "Dockerfile") == "Dockerfile"
    assert source["platform"] == "linux/amd64"
    context = s.outdir / source["directory"]
    assert (context / "Dockerfile").is_file()
    for excluded in (".venv", ".git", "tests", "infra", "node_modules", "cdk.out", "bench"):
        assert not (context / excluded).exists(), excluded


def test_secrets_injected_from_secrets_manager(s: Synth) -> None:
    secrets = s.resources("AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    generated = [k for k, v in secrets.items() if "GenerateSecretString" in v["Properties"]]
    assert len(generated) == 1, "the cookie key is generated"
    injected = {e["Name"]: ref_id(e["ValueFrom"]) for e in _container(s)["Secrets"]}
    assert set(injected) == {"AUTH_COOKIE_KEY", "AUTH_CREDENTIALS_YAML"}
    assert injected["AUTH_COOKIE_KEY"] == generated[0]
    assert injected["AUTH_CREDENTIALS_YAML"] in secrets
    assert injected["AUTH_CREDENTIALS_YAML"] != generated[0]
    env_names = {e["Name"] for e in _container(s)["Environment"]}
    assert not env_names & set(injected), "secrets never appear as plain env vars"


def test_task_role_has_exactly_the_dashboard_read_actions(s: Synth) -> None:
    task_def = s.props("AWS::ECS::TaskDefinition")
    role_id = ref_id(task_def["TaskRoleArn"])
    role = s.tpl["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    stmts = policies_of_role(s, role_id)
    assert actions_of(stmts) == ALLOWED_TASK_ACTIONS
    assert all(st["Effect"] == "Allow" for st in stmts)
    attached = [k for k, r in s.resources("AWS::IAM::ManagedPolicy").items()
                if {"Ref": role_id} in r["Properties"].get("Roles", [])]
    assert not attached


def test_task_role_resources_are_scoped(s: Synth) -> None:
    task_def = s.props("AWS::ECS::TaskDefinition")
    stmts = policies_of_role(s, ref_id(task_def["TaskRoleArn"]))
    table_id = s.one("AWS::DynamoDB::Table")[0]
    apps = catalog().values()
    lambdas = [fn for body in apps for fn in body["resources"]["lambdas"]]
    tables = [t for body in apps for t in body["resources"]["dynamodb_tables"]]
    by_sid = {st["Sid"]: st for st in stmts}
    for st in stmts:
        actions = set(as_list(st["Action"]))
        rendered = [json.dumps(r) for r in as_list(st["Resource"])]
        if "dynamodb:Query" in actions:
            assert as_list(st["Resource"]) == [{"Fn::GetAtt": [table_id, "Arn"]}]
            assert actions == {"dynamodb:Query", "dynamodb:DescribeTable",
                               "dynamodb:DescribeTimeToLive", "dynamodb:DescribeContinuousBackups"}
        elif actions == {"dynamodb:GetItem", "dynamodb:PutItem"}:  # the session deny-list
            assert as_list(st["Resource"]) == [{"Fn::GetAtt": [table_id, "Arn"]}]
            assert st["Condition"] == {"ForAllValues:StringLike": {
                "dynamodb:LeadingKeys": ["_session#*"]}}
        elif actions == {"logs:StartQuery"}:  # every Lambda log group, nothing else
            assert rendered == [json.dumps({"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"}, ":logs:us-east-1:",
                {"Ref": "AWS::AccountId"}, ":log-group:/aws/lambda/*"]]})]
        elif actions == {"lambda:GetFunctionConfiguration"}:
            if st["Sid"] == "ReadTaggedAppFunctions":  # discovered: only while tagged
                assert st["Condition"] == {"StringEquals": {"aws:ResourceTag/Application": [
                    "ilikeyacut", "jobseek"]}}
            else:
                assert [r.rsplit(":function:", 1)[1][:-4] for r in rendered] == lambdas
        elif actions == {"dynamodb:DescribeTable"}:
            assert [r.rsplit("table/", 1)[1][:-4] for r in rendered] == tables
        elif actions == {"apigateway:GET"}:
            assert [r.rsplit("::", 1)[1][:-4] for r in rendered] == ["/restapis/*", "/apis/*"]
        elif actions == {"rds:DescribeDBInstances"}:
            assert [r.rsplit(":db:", 1)[1][:-4] for r in rendered] == ["jobseek-postgres"]
        elif actions == {"elasticache:Connect"}:  # the stack's cache and its one user only
            cache = s.one("AWS::ElastiCache::ServerlessCache")[0]
            users = [k for k, u in s.resources("AWS::ElastiCache::User").items()
                     if u["Properties"]["UserName"] != "default"]
            assert [ref_id(r) for r in as_list(st["Resource"])] == [cache, *users]
        else:
            assert as_list(st["Resource"]) == ["*"]
            assert not actions & {"logs:StartQuery", "dynamodb:Query", "apigateway:GET",
                                  "lambda:GetFunctionConfiguration"}
    assert "Condition" not in by_sid["ReadAny"]


def test_execution_role_reads_only_its_two_secrets(s: Synth) -> None:
    task_def = s.props("AWS::ECS::TaskDefinition")
    stmts = policies_of_role(s, ref_id(task_def["ExecutionRoleArn"]))
    secret_ids = set(s.resources("AWS::SecretsManager::Secret"))
    secret_stmts = [st for st in stmts if "secretsmanager:GetSecretValue" in as_list(st["Action"])]
    assert {ref_id(r) for st in secret_stmts for r in as_list(st["Resource"])} == secret_ids
