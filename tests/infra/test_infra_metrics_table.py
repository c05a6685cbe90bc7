"""Metrics table: keys, billing, TTL, stream, PITR, deletion protection and the 6-hour backups."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra._cdk import Synth, ref_id, synth


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-table")))


def test_table_keys_are_metric_id_and_numeric_timestamp(s: Synth) -> None:
    props = s.props("AWS::DynamoDB::Table")
    assert props["KeySchema"] == [
        {"AttributeName": "metricId", "KeyType": "HASH"},
        {"AttributeName": "timestamp", "KeyType": "RANGE"},
    ]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "metricId", "AttributeType": "S"},
        {"AttributeName": "timestamp", "AttributeType": "N"},
    ]


def test_table_is_on_demand_with_ttl_stream_pitr_and_deletion_protection(s: Synth) -> None:
    s.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    )
    props = s.props("AWS::DynamoDB::Table")
    assert "ProvisionedThroughput" not in props


def test_table_and_vault_survive_stack_deletion(s: Synth) -> None:
    s.template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})
    s.template.has_resource("AWS::Backup::BackupVault", {"DeletionPolicy": "Retain"})


def test_backup_plan_runs_every_six_hours(s: Synth) -> None:
    rules = s.props("AWS::Backup::BackupPlan")["BackupPlan"]["BackupPlanRule"]
    assert len(rules) == 1
    expr = rules[0]["ScheduleExpression"]
    assert expr.startswith("cron(") and expr.endswith(")")
    minute, hour, dom, month, dow, year = expr[5:-1].split()
    assert (minute, hour) == ("0", "*/6"), expr  # 00:00, 06:00, 12:00, 18:00 UTC
    assert (dom, month, dow, year) == ("*", "*", "?", "*")
    assert rules[0]["Lifecycle"]["DeleteAfterDays"] >= 7
    assert ref_id(rules[0]["TargetBackupVault"]) == s.one("AWS::Backup::BackupVault")[0]


def test_backup_selection_targets_the_metrics_table(s: Synth) -> None:
    table_id = s.one("AWS::DynamoDB::Table")[0]
    selection = s.props("AWS::Backup::BackupSelection")["BackupSelection"]
    assert selection["Resources"] == [{"Fn::GetAtt": [table_id, "Arn"]}]
    plan_id = s.one("AWS::Backup::BackupPlan")[0]
    assert ref_id(s.props("AWS::Backup::BackupSelection")["BackupPlanId"]) == plan_id
