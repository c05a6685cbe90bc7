"""Tag discovery: ARNs to dimension values, the Tagging API on moto (paginated), API Gateway
name lookups, the cached entry point, and the page saying that resources were discovered."""

from __future__ import annotations

import io
import json
import zipfile
from typing import cast

import boto3
import pytest

from analytics.core import access
from analytics.core.catalog import Api
from analytics.metrics.queries import S3_STORAGE_TYPES
from analytics.performance import discovery
from analytics.performance import service as performance
from analytics.performance.aws import AwsPerformance
from analytics.performance.discovery import ApiRef, classify
from analytics.sources import Runtime, set_runtime
from tests.helpers import signed_in_app
from tests.performance.conftest import TR, aws_runtime, make_catalog

REGION = "us-east-1"
TAGGED = {"lambdas": ["shop-checkout", "shop-search"], "table": "shop-orders",
          "bucket": "shop-assets-bucket", "db": "shop-db"}


def _tags(tag: str) -> dict[str, str]:
    return {"Application": tag}


def create_tagged_resources(tag: str = "shop-tag") -> None:
    """Lambda functions, a table, a bucket and a DB instance tagged Application=<tag>, plus
    resources of another app that discovery must leave out."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps({}))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("h.py", "def h(event, context):\n    return 1\n")
    lam = boto3.client("lambda", region_name=REGION)
    for name, app_tag in [*((n, tag) for n in TAGGED["lambdas"]), ("other-fn", "other")]:
        lam.create_function(FunctionName=name, Runtime="python3.11", Handler="h.h",
                            Role=role["Role"]["Arn"], Code={"ZipFile": buf.getvalue()},
                            Tags=_tags(app_tag))
    ddb = boto3.client("dynamodb", region_name=REGION)
    for name, app_tag in ((TAGGED["table"], tag), ("other-table", "other")):
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         Tags=[{"Key": "Application", "Value": app_tag}])
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=TAGGED["bucket"])
    s3.put_bucket_tagging(Bucket=TAGGED["bucket"], Tagging={"TagSet": [
        {"Key": "Application", "Value": tag}]})
    s3.create_bucket(Bucket="untagged-bucket")
    boto3.client("rds", region_name=REGION).create_db_instance(
        DBInstanceIdentifier=TAGGED["db"], DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="admin_user", MasterUserPassword="not-a-secret-1", AllocatedStorage=20,
        Tags=[{"Key": "Application", "Value": tag}])


def shop_runtime() -> Runtime:
    return aws_runtime(make_catalog({"id": "shop", "display_name": "Shop",
                                     "cost_tag": "shop-tag"}))


def test_arns_map_to_cloudwatch_dimension_values() -> None:
    found = classify([
        "arn:aws:lambda:us-east-1:123456789012:function:fn-a",
        "arn:aws:lambda:us-east-1:123456789012:function:fn-a:live",  # alias: same function
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/by-date",
        "arn:aws:rds:us-east-1:123456789012:db:orders-db",
        "arn:aws:s3:::assets-bucket",
        "arn:aws:apigateway:us-east-1::/restapis/abc123",
        "arn:aws:apigateway:us-east-1::/restapis/abc123/stages/live",
        "arn:aws:apigateway:us-east-1::/apis/h77",
        "arn:aws:sqs:us-east-1:123456789012:queue-1",
        "not-an-arn",
    ])
    assert found.lambdas == ["fn-a"]
    assert found.dynamodb_tables == ["orders"]
    assert found.rds_instances == ["orders-db"]
    assert found.s3_buckets == ["assets-bucket"]
    assert found.apis == {"abc123": ApiRef("abc123", "rest", "live"),
                          "h77": ApiRef("h77", "http", None)}
    assert found.ignored == ["arn:aws:sqs:us-east-1:123456789012:queue-1", "not-an-arn"]


def test_tagging_api_discovery_on_moto_is_paginated(moto) -> None:
    create_tagged_resources()
    rt = shop_runtime()
    backend = AwsPerformance(clients=cast(AwsPerformance, rt.sources.performance).clients,
                             discovery_page_size=2)
    res = backend.discover_resources(rt.catalog.get("shop"))
    assert sorted(res.lambdas) == TAGGED["lambdas"]
    assert res.dynamodb_tables == (TAGGED["table"],)
    assert res.s3_buckets == (TAGGED["bucket"],)
    assert res.rds_instances == (TAGGED["db"],)
    assert res.apis == ()
    assert rt.cache.snapshot()["aws_calls"]["resourcegroupstaggingapi.GetResources"] == 3


def test_api_gateway_names_and_stages_are_looked_up(moto) -> None:
    gw = boto3.client("apigateway", region_name=REGION)
    rest = gw.create_rest_api(name="shop-rest")["id"]
    root = gw.get_resources(restApiId=rest)["items"][0]["id"]
    gw.put_method(restApiId=rest, resourceId=root, httpMethod="GET", authorizationType="NONE")
    gw.put_integration(restApiId=rest, resourceId=root, httpMethod="GET", type="MOCK")
    gw.create_deployment(restApiId=rest, stageName="live")
    http = boto3.client("apigatewayv2", region_name=REGION).create_api(
        Name="shop-http", ProtocolType="HTTP")["ApiId"]
    backend = cast(AwsPerformance, shop_runtime().sources.performance)
    assert backend._api(ApiRef(rest, "rest")) == Api(id=rest, name="shop-rest", kind="rest",
                                                     stage="live")
    assert backend._api(ApiRef(rest, "rest", "beta")) == Api(id=rest, name="shop-rest",
                                                             kind="rest", stage="beta")
    assert backend._api(ApiRef(http, "http")) == Api(id=http, name="shop-http", kind="http",
                                                     stage="$default")
    # an id that cannot be looked up keeps the id (and says nothing worse)
    assert backend._api(ApiRef("gone", "http")) == Api(id="gone", name="gone", kind="http",
                                                       stage="$default")


def test_resolve_discovers_only_for_an_empty_catalog_entry_and_caches(moto) -> None:
    create_tagged_resources()
    rt = shop_runtime()
    shop = rt.catalog.get("shop")
    first = performance.resolve(rt, shop)
    second = performance.resolve(rt, shop)
    assert first.discovered and first.tag == "Application=shop-tag" and first.count == 5
    assert second.fetched_at == first.fetched_at
    assert rt.cache.snapshot()["upstream_calls"] == {"discovery": 1}
    listed = shop.model_copy(update={"resources": first.resources})
    assert performance.resolve(rt, listed) == discovery.Resolved(first.resources, False)
    access.set_principal(access.Principal("v", "viewer", frozenset({"other"})))
    try:
        with pytest.raises(access.AccessDenied):
            performance.resolve(rt, shop)
    finally:
        access.set_principal(None)


def test_performance_uses_discovered_resources_in_one_metrics_call(moto) -> None:
    create_tagged_resources()
    rt = shop_runtime()
    page = performance.performance(rt, rt.catalog.get("shop"), tr=TR)
    assert page.discovery is not None and page.discovery.count == 5
    assert sorted(r.name for r in page.section("lambda").resources) == TAGGED["lambdas"]
    assert [r.name for r in page.section("rds").resources] == [TAGGED["db"]]
    assert "Application=shop-tag" in (page.section("api").empty_message or "")
    assert page.n_queries == 2 * 7 + 6 + 5 + len(S3_STORAGE_TYPES) + 1
    assert rt.cache.snapshot()["aws_calls"]["cloudwatch.GetMetricData"] == 1


def test_local_discovery_returns_the_catalog_resources(local_runtime) -> None:
    app = local_runtime.catalog.get("jobseek")
    assert local_runtime.sources.performance.discover_resources(app) == app.resources
    empty = app.model_copy(update={"resources": type(app.resources)()})
    assert local_runtime.sources.performance.discover_resources(empty).empty


def test_page_says_resources_were_discovered(moto) -> None:
    create_tagged_resources()
    rt = shop_runtime()
    set_runtime(rt)
    try:
        at = signed_in_app("app_pages/performance.py", query={"app": "shop"}).run()
    finally:
        set_runtime(None)
    assert not at.exception
    infos = [i.value for i in at.info]
    assert any("the 5 resources below were discovered by the tag `Application=shop-tag`" in i
               for i in infos)
    labels = [e.label for e in at.expander]
    assert labels == ["Lambda · 2", "DynamoDB · 1", "RDS · 1", "S3 · 1"]
    assert any(i.startswith("**API Gateway**") and "`apis`" in i for i in infos)
    # the functions have no log group yet: the cold-start table says so instead of failing
    table = at.dataframe[0].value
    assert set(table["function"]) == set(TAGGED["lambdas"])
    assert all("no log group" in n for n in table["note"])


def test_page_says_when_nothing_is_tagged(moto) -> None:
    rt = shop_runtime()  # moto holds no tagged resource
    set_runtime(rt)
    try:
        at = signed_in_app("app_pages/performance.py", query={"app": "shop"}).run()
    finally:
        set_runtime(None)
    assert not at.exception
    assert any("nothing is tagged `Application=shop-tag`" in w.value for w in at.warning)
    assert len(at.expander) == 0 and len(at.get("plotly_chart")) == 0
    assert [i.value.split(" — ")[0] for i in at.info] == [
        "**API Gateway**", "**Lambda**", "**DynamoDB**", "**RDS**", "**S3**"]
