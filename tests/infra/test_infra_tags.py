"""Cost-allocation tags (Application, Environment, CostCenter) on every taggable resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from central_analytics.config import load_config
from central_analytics.tagging import required_tags
from tests.infra._cdk import Synth, synth

# Resource types that must exist and carry the tags (the costly / ownable ones).
MUST_BE_TAGGED = {
    "AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::IAM::Role", "AWS::SNS::Topic",
    "AWS::KMS::Key", "AWS::S3::Bucket", "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ECS::Cluster", "AWS::ECS::Service", "AWS::ECS::TaskDefinition", "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret", "AWS::EC2::VPC", "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage", "AWS::Backup::BackupPlan", "AWS::Backup::BackupVault",
    "AWS::Cognito::UserPool",
}


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-tags")),
                 {"sso": "true", "environment": "staging", "cost_center": "platform-42"})


def _tags(props: dict[str, Any]) -> dict[str, str] | None:
    """Tags of a resource whatever the shape (list of Key/Value, map, or *Tags property)."""
    for key, value in props.items():
        if key == "Tags" or (key.endswith("Tags") and key != "PropagateTags"):
            if isinstance(value, list):
                return {t["Key"]: t["Value"] for t in value}
            if isinstance(value, dict):
                return dict(value)
    return None


def test_every_tagged_resource_has_the_three_tags(s: Synth) -> None:
    expected = {"Application": "central-analytics", "Environment": "staging",
                "CostCenter": "platform-42"}
    seen_types: set[str] = set()
    for logical_id, res in s.tpl["Resources"].items():
        tags = _tags(res.get("Properties", {}))
        if tags is None:
            continue
        seen_types.add(res["Type"])
        for key, value in expected.items():
            assert tags.get(key) == value, (logical_id, res["Type"], tags)
    missing = MUST_BE_TAGGED - seen_types
    assert not missing, f"taggable types without tags: {sorted(missing)}"


def test_default_tag_values() -> None:
    assert required_tags(load_config({})) == {
        "Application": "central-analytics", "Environment": "production",
        "CostCenter": "analytics",
    }
