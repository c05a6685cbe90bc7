"""Cold starts and discovery against answers shaped like real AWS's (botocore Stubber): JSON log
format and ``platform.report``, custom log groups, SnapStart restores, refused log groups, and
API Gateway stages tagged on the stage resource. Each case read wrong before: "0 cold starts",
"never invoked?", a failed table, or a REST API charted under its id."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import pytest
from botocore.stub import ANY, Stubber

from analytics.core.catalog import Api
from analytics.metrics.queries import api_query
from analytics.performance import service as performance
from analytics.performance.aws import AwsPerformance, DiscoveryDenied
from analytics.performance.insights import cold_start_query
from analytics.sources import Runtime
from tests.performance.conftest import END, START, aws_runtime, make_catalog

T0, T1 = int(START.timestamp()), int(END.timestamp())
REGION = "us-east-1"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def rt() -> Runtime:
    return aws_runtime(make_catalog({"id": "shop", "cost_tag": "shop-tag", "resources": {
        "lambdas": ["fn-json", "fn-custom", "fn-snap"]}}))


@pytest.fixture
def backend(rt: Runtime) -> AwsPerformance:
    """The runtime's performance source on a fake clock, reading each function's config."""
    clients = cast(AwsPerformance, rt.sources.performance).clients
    fake = FakeTime()
    source = AwsPerformance(clients=clients, clock=fake.clock, sleep=fake.sleep)
    rt.sources = dataclasses.replace(rt.sources, performance=source)
    return source


def _config(stub: Stubber, fn: str, *, fmt: str = "Text", group: str | None = None,
            system_level: str | None = None, snapstart: bool = False) -> None:
    """GetFunctionConfiguration as Lambda answers it (LoggingConfig, SnapStart)."""
    logging: dict[str, Any] = {"LogFormat": fmt, "LogGroup": group or f"/aws/lambda/{fn}"}
    if fmt == "JSON":
        logging |= {"ApplicationLogLevel": "INFO", "SystemLogLevel": system_level or "INFO"}
    stub.add_response("get_function_configuration", {
        "FunctionName": fn, "FunctionArn": f"arn:aws:lambda:{REGION}:123456789012:function:{fn}",
        "Runtime": "python3.13", "MemorySize": 256, "LoggingConfig": logging,
        "SnapStart": {"ApplyOn": "PublishedVersions" if snapstart else "None",
                      "OptimizationStatus": "On" if snapstart else "Off"},
    }, {"FunctionName": fn})


def _fields(**values: str) -> list[list[dict[str, str]]]:
    return [[{"field": k, "value": v} for k, v in values.items()]]


def _stubs(rt: Runtime) -> tuple[Stubber, Stubber]:
    clients = cast(AwsPerformance, rt.sources.performance).clients
    return Stubber(clients.client("lambda")), Stubber(clients.client("logs"))


def test_json_format_custom_group_and_snapstart_are_each_queried_their_own_way(
        rt: Runtime, backend: AwsPerformance) -> None:
    # GIVEN a JSON-format function, a text function logging to a custom group, and a SnapStart
    # function, each answering its Logs Insights query with platform.report / REPORT stats
    lam, logs = _stubs(rt)
    _config(lam, "fn-json", fmt="JSON")
    _config(lam, "fn-custom", group="/teams/shop/custom")
    _config(lam, "fn-snap", snapstart=True)
    queries = {
        "fn-json": ("/aws/lambda/fn-json", cold_start_query("JSON")),
        "fn-custom": ("/teams/shop/custom", cold_start_query("Text")),
        "fn-snap": ("/aws/lambda/fn-snap", cold_start_query("Text", snapstart=True)),
    }
    for fn, (group, query) in queries.items():
        logs.add_response("start_query", {"queryId": f"q-{fn}"}, {
            "logGroupName": group, "startTime": T0, "endTime": T1, "queryString": query,
            "limit": 10})
    logs.add_response("get_query_results", {"status": "Complete", "results": _fields(
        invocations="400", coldStarts="8", initP50="212.5", initP95="390.0")},
        {"queryId": "q-fn-json"})
    logs.add_response("get_query_results", {"status": "Complete", "results": _fields(
        invocations="100", coldStarts="5", initP50="300", initP95="500")},
        {"queryId": "q-fn-custom"})
    logs.add_response("get_query_results", {"status": "Complete", "results": _fields(
        invocations="50", coldStarts="0", initP50="", initP95="", restores="5",
        restoreP50="120.5", restoreP95="180.0")}, {"queryId": "q-fn-snap"})
    # WHEN the cold starts are read
    with lam, logs:
        table = backend.cold_starts(["fn-json", "fn-custom", "fn-snap"], start=START, end=END)
    lam.assert_no_pending_responses()
    logs.assert_no_pending_responses()
    rows = {r["function"]: r for r in table.to_dict("records")}
    # THEN each is counted from its own records, and says which kind it came from
    assert (rows["fn-json"]["cold_starts"], rows["fn-json"]["share_pct"]) == (8, 2.0)
    assert rows["fn-json"]["init_p95_ms"] == 390.0
    assert rows["fn-json"]["log_source"] == "JSON platform.report"
    assert rows["fn-custom"]["cold_starts"] == 5 and rows["fn-custom"]["note"] == ""
    assert rows["fn-custom"]["log_source"] == "text REPORT in /teams/shop/custom"
    assert (rows["fn-snap"]["cold_starts"], rows["fn-snap"]["init_p50_ms"]) == (5, 120.5)
    assert rows["fn-snap"]["log_source"] == "text REPORT + SnapStart restores"


def test_the_json_query_reads_platform_report_records() -> None:
    # GIVEN Lambda's JSON log format, where the REPORT line is a platform.report record
    # WHEN the query is built
    query = cold_start_query("JSON", snapstart=True)
    # THEN it filters those records and reads their metrics, never the text-only fields
    assert query.startswith('filter type = "platform.report"')
    assert "count(record.metrics.initDurationMs) as coldStarts" in query
    assert "pct(record.metrics.restoreDurationMs, 95) as restoreP95" in query
    assert "@initDuration" not in query and "@type" not in query


def test_a_refused_log_group_is_a_row_note_and_the_other_rows_still_count(
        rt: Runtime, backend: AwsPerformance) -> None:
    # GIVEN one function whose custom log group the role may not query, and one that works
    lam, logs = _stubs(rt)
    _config(lam, "fn-json", fmt="JSON", group="/secret/team")
    _config(lam, "fn-custom")
    logs.add_client_error("start_query", "AccessDeniedException",
                          "User is not authorized to perform: logs:StartQuery", 400)
    logs.add_response("start_query", {"queryId": "q-b"}, {
        "logGroupName": "/aws/lambda/fn-custom", "startTime": T0, "endTime": T1,
        "queryString": cold_start_query(), "limit": 10})
    logs.add_response("get_query_results", {"status": "Complete", "results": _fields(
        invocations="10", coldStarts="1", initP50="100", initP95="100")}, {"queryId": "q-b"})
    # WHEN the cold starts are read
    with lam, logs:
        table = backend.cold_starts(["fn-json", "fn-custom"], start=START, end=END)
    rows = {r["function"]: r for r in table.to_dict("records")}
    # THEN the refusal is said on its row (not "0 cold starts", not a failed table)
    assert "not allowed to query /secret/team (AccessDeniedException)" in rows["fn-json"]["note"]
    assert rows["fn-custom"]["cold_starts"] == 1


def test_unreadable_config_and_dropped_reports_are_said(rt: Runtime,
                                                        backend: AwsPerformance) -> None:
    # GIVEN a function whose configuration the role may not read, and a JSON function whose
    # system log level (WARN) drops the platform.report records
    lam, logs = _stubs(rt)
    lam.add_client_error("get_function_configuration", "AccessDeniedException", "denied", 403)
    _config(lam, "fn-snap", fmt="JSON", system_level="WARN")
    logs.add_response("start_query", {"queryId": "q-a"}, {
        "logGroupName": "/aws/lambda/fn-custom", "startTime": T0, "endTime": T1,
        "queryString": cold_start_query(), "limit": 10})
    logs.add_response("start_query", {"queryId": "q-b"}, {
        "logGroupName": "/aws/lambda/fn-snap", "startTime": T0, "endTime": T1,
        "queryString": cold_start_query("JSON"), "limit": 10})
    logs.add_response("get_query_results", {"status": "Complete", "results": _fields(
        invocations="3", coldStarts="0")}, {"queryId": "q-a"})
    logs.add_response("get_query_results", {"status": "Complete", "results": []},
                      {"queryId": "q-b"})
    # WHEN the cold starts are read
    with lam, logs:
        table = backend.cold_starts(["fn-custom", "fn-snap"], start=START, end=END)
    rows = {r["function"]: r for r in table.to_dict("records")}
    # THEN the defaults are used and each row says why its number may be wrong
    assert "logging config unread (AccessDeniedException)" in rows["fn-custom"]["note"]
    assert "grant lambda:GetFunctionConfiguration" in rows["fn-custom"]["note"]
    assert "system log level WARN drops the platform.report records" in rows["fn-snap"]["note"]
    assert math.isnan(rows["fn-snap"]["share_pct"])


def _tagging(rt: Runtime) -> Stubber:
    clients = cast(AwsPerformance, rt.sources.performance).clients
    return Stubber(clients.client("resourcegroupstaggingapi"))


def test_stages_tagged_on_the_stage_resource_are_discovered(rt: Runtime) -> None:
    # GIVEN SAM-style tags: on the REST API's stage and on an HTTP API's stage, not the APIs
    clients = cast(AwsPerformance, rt.sources.performance).clients
    tagging = _tagging(rt)
    tagging.add_response("get_resources", {"ResourceTagMappingList": [
        {"ResourceARN": f"arn:aws:apigateway:{REGION}::/restapis/r1/stages/prod",
         "Tags": [{"Key": "Application", "Value": "shop-tag"}]},
        {"ResourceARN": f"arn:aws:apigateway:{REGION}::/apis/h1/stages/live",
         "Tags": [{"Key": "Application", "Value": "shop-tag"}]},
    ]}, {"TagFilters": [{"Key": "Application", "Values": ["shop-tag"]}],
         "ResourceTypeFilters": ANY, "ResourcesPerPage": 100})
    gw, gw2 = Stubber(clients.client("apigateway")), Stubber(clients.client("apigatewayv2"))
    gw.add_response("get_rest_api", {"id": "r1", "name": "shop-rest"}, {"restApiId": "r1"})
    gw2.add_response("get_api", {"ApiId": "h1", "Name": "shop-http", "ProtocolType": "HTTP",
                                 "RouteSelectionExpression": "x"}, {"ApiId": "h1"})
    seen: list[dict[str, Any]] = []
    clients.client("resourcegroupstaggingapi").meta.events.register(
        "provide-client-params.resource-groups-tagging-api.GetResources",
        lambda params, **_: seen.append(params))
    # WHEN the app's resources are discovered
    with tagging, gw, gw2:
        found = cast(AwsPerformance, rt.sources.performance).discover_resources(
            rt.catalog.get("shop"))
    # THEN both APIs are found with their stage, and the filter asks for every API Gateway type
    assert seen and "apigateway" in seen[0]["ResourceTypeFilters"]
    assert found.apis == (Api(id="r1", name="shop-rest", kind="rest", stage="prod"),
                          Api(id="h1", name="shop-http", kind="http", stage="live"))
    # AND the HTTP API's metrics are that stage's, not the sum of every stage
    q = api_query("shop", found.apis[1], "Count", stat="Sum", period=300)
    assert q.dimensions == (("ApiId", "h1"), ("Stage", "live"))


def test_an_http_api_without_a_named_stage_keeps_apiid_alone() -> None:
    # GIVEN an HTTP API whose stage nobody named (the catalog default)
    api = Api(id="h2", name="plain")
    # WHEN its metric query is built
    q = api_query("shop", api, "5XXError", stat="Sum", period=60)
    # THEN only ApiId is sent (a Stage the API may not have would match nothing)
    assert q.dimensions == (("ApiId", "h2"),) and q.metric_name == "5xx"


def test_a_refused_api_lookup_is_a_discovery_error_not_an_empty_chart(rt: Runtime) -> None:
    # GIVEN a tagged REST API whose name the role may not read (no apigateway:GET)
    clients = cast(AwsPerformance, rt.sources.performance).clients
    tagging = _tagging(rt)
    tagging.add_response("get_resources", {"ResourceTagMappingList": [
        {"ResourceARN": f"arn:aws:apigateway:{REGION}::/restapis/r9",
         "Tags": [{"Key": "Application", "Value": "shop-tag"}]}]}, None)
    gw = Stubber(clients.client("apigateway"))
    gw.add_client_error("get_rest_api", "AccessDeniedException", "not authorized", 403)
    shop = make_catalog({"id": "shop", "cost_tag": "shop-tag"}).get("shop")
    # WHEN the source discovers, and the page resolves the app
    with tagging, gw, pytest.raises(DiscoveryDenied, match="apigateway:GET was refused for API r9"):
        cast(AwsPerformance, rt.sources.performance).discover_resources(shop)
    tagging.add_response("get_resources", {"ResourceTagMappingList": [
        {"ResourceARN": f"arn:aws:apigateway:{REGION}::/restapis/r9", "Tags": []}]}, None)
    gw.add_client_error("get_rest_api", "AccessDeniedException", "not authorized", 403)
    with tagging, gw:
        _, note = performance.resolve_app(rt, shop)
    # THEN the page's discovery note carries the reason and the fix
    assert note is not None and "apigateway:GET was refused" in (note.error or "")
