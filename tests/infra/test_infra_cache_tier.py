"""The shared cache tier in the stack: ElastiCache Serverless (Valkey) in isolated subnets,
reachable only from the dashboard tasks, IAM-authenticated, its URL handed to the task; on by
default when the service may scale past one task, off for a single task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from central_analytics.config import ConfigError, load_config
from tests.infra._cdk import Synth, ref_id, synth


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-cache")))


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-single")), {"max_tasks": "1"})


def _env(s: Synth) -> dict[str, Any]:
    container = s.props("AWS::ECS::TaskDefinition")["ContainerDefinitions"][0]
    return {e["Name"]: e["Value"] for e in container["Environment"]}


def test_a_valkey_serverless_cache_with_capped_usage(s: Synth) -> None:
    cache = s.props("AWS::ElastiCache::ServerlessCache")
    assert cache["Engine"] == "valkey" and cache["MajorEngineVersion"] == "8"
    assert cache["CacheUsageLimits"] == {"DataStorage": {"Maximum": 1, "Unit": "GB"},
                                         "ECPUPerSecond": {"Maximum": 5000}}
    assert cache["SnapshotRetentionLimit"] == 0


def test_it_lives_in_isolated_subnets_and_admits_only_the_tasks(s: Synth) -> None:
    cache = s.props("AWS::ElastiCache::ServerlessCache")
    subnets = s.resources("AWS::EC2::Subnet")
    chosen = [ref_id(x) for x in cache["SubnetIds"]]
    assert len(chosen) == 2 and all("cache" in str(c) for c in chosen)
    routes = s.resources("AWS::EC2::Route")
    tables = {ref_id(r["Properties"]["RouteTableId"]) for r in routes.values()}
    assocs = [a["Properties"] for a in s.resources(
        "AWS::EC2::SubnetRouteTableAssociation").values()]
    assert all(ref_id(a["RouteTableId"]) not in tables for a in assocs
               if ref_id(a["SubnetId"]) in chosen), "no route out of the cache subnets"
    assert set(chosen) <= set(subnets)
    [sg_id] = [ref_id(x) for x in cache["SecurityGroupIds"]]
    sg = s.tpl["Resources"][sg_id]["Properties"]
    service = s.props("AWS::ECS::Service")
    task_sgs = service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    [rule] = sg["SecurityGroupIngress"]
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (6379, 6379, "tcp")
    assert ref_id(rule["SourceSecurityGroupId"]) == ref_id(task_sgs[0])
    assert "CidrIp" not in rule
    assert [e["CidrIp"] for e in sg["SecurityGroupEgress"]] == ["255.255.255.255/32"]


def test_one_iam_user_and_the_default_user_disabled(s: Synth) -> None:
    users = {u["Properties"]["UserName"]: u["Properties"]
             for u in s.resources("AWS::ElastiCache::User").values()}
    assert users["default"]["AccessString"].startswith("off")
    [name] = [n for n in users if n != "default"]
    assert users[name]["AuthenticationMode"] == {"Type": "iam"}
    assert users[name]["AccessString"] == "on ~ca:* ~ca-sec:* +@all -@dangerous"
    group = s.props("AWS::ElastiCache::UserGroup")
    cache = s.props("AWS::ElastiCache::ServerlessCache")
    assert cache["UserGroupId"] == group["UserGroupId"] == name
    assert sorted(group["UserIds"]) == sorted([f"{name}-default", name])


def test_the_task_gets_the_url_and_signs_in_with_its_role(s: Synth) -> None:
    env = _env(s)
    url = env["ANALYTICS_CACHE_URL"]["Fn::Join"][1]
    assert url[0].startswith("rediss://central-analytics-production@")
    assert ref_id(url[1]) == s.one("AWS::ElastiCache::ServerlessCache")[0]
    assert env["ANALYTICS_CACHE_CLUSTER"] == "true"
    assert env["ANALYTICS_CACHE_IAM_CACHE_NAME"] == "central-analytics-production"


def test_a_single_task_service_has_no_tier(single: Synth) -> None:
    assert not single.resources("AWS::ElastiCache::ServerlessCache")
    assert not any("cache" in k.lower() for k in single.resources("AWS::EC2::Subnet"))
    assert "ANALYTICS_CACHE_URL" not in _env(single)
    scaling = single.props("AWS::ApplicationAutoScaling::ScalableTarget")
    assert scaling["MaxCapacity"] == 1


@pytest.mark.parametrize(("ctx", "enabled"), [
    ({}, True), ({"max_tasks": "1"}, False), ({"cache_tier": "off"}, False),
    ({"max_tasks": "1", "cache_tier": "on"}, True),
])
def test_auto_means_on_when_more_than_one_task_may_run(ctx: dict[str, str],
                                                       enabled: bool) -> None:
    assert load_config(ctx).cache_enabled is enabled


@pytest.mark.parametrize("ctx", [{"cache_tier": "maybe"}, {"max_tasks": "0"},
                                 {"cache_max_ecpu_per_second": "10"}])
def test_bad_tier_settings_are_refused_at_synth(ctx: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_config(ctx)
