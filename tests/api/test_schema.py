"""One schema file: the local server serves exactly ``api/schema.graphql`` (plus the AppSync
prelude), AppSync's resolver covers every field of it, and the API's limits hold."""

from __future__ import annotations

from typing import Any

from graphql import build_schema, print_schema

from analytics.api.schema import (
    APPSYNC_PRELUDE,
    MAX_DEPTH,
    MAX_ROOT_FIELDS,
    SCHEMA_FILE,
    schema,
    schema_sdl,
)
from tests.api.conftest import Twin


def test_the_served_schema_is_the_file_plus_the_appsync_prelude() -> None:
    # GIVEN the file AppSync is given and the prelude of AppSync's built-ins
    expected = build_schema(APPSYNC_PRELUDE + SCHEMA_FILE.read_text(encoding="utf-8"))
    # WHEN the server's executable schema is printed
    # THEN it is the same schema, type for type and field for field
    assert print_schema(schema()) == print_schema(expected)
    assert schema_sdl() == SCHEMA_FILE.read_text(encoding="utf-8")


def test_the_file_declares_none_of_appsyncs_builtins() -> None:
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    assert "directive @aws" not in text and "scalar AWS" not in text
    assert '@aws_subscribe(mutations: ["publishMetricUpdate"])' in text


def test_the_original_operations_are_kept() -> None:
    s = schema()
    query, mutation = s.query_type, s.mutation_type
    assert query is not None and mutation is not None and s.subscription_type is not None
    assert {"getMetrics", "getRealtimeMetrics", "getCostAnalysis"} <= set(query.fields)
    assert set(query.fields["getMetrics"].args) >= {"applicationId", "metricType", "startTime",
                                                    "endTime", "granularity"}
    assert set(mutation.fields["recordCustomMetric"].args) >= {
        "applicationId", "metricName", "value", "unit", "dimensions"}
    assert set(s.subscription_type.fields["metricUpdates"].args) >= {"applicationId",
                                                                     "metricTypes"}


def post(twin: Twin, query: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    return twin.post_graphql(query, {}, token if token is not None else twin.operator)


def test_a_query_nested_too_deep_is_refused_before_it_runs(twin: Twin) -> None:
    fragment = "fragment F on Panel { lines { points { value } } }"
    ok = ('{ getRealtimeMetrics(applicationId: "jobseek") { service { ...F } } } ' + fragment)
    assert post(twin, ok)[0] == 200
    deep = "{ __typename " + "a: getRealtimeMetrics(applicationId: \"jobseek\") { " \
           + "service { lines { points { value } } } }" + " }"
    assert post(twin, deep)[0] == 200  # depth 4
    # the schema has no field nesting beyond 5, so prove the rule with aliases of depth 9
    status, body = post(twin, "{ " + " ".join(
        f'r{i}: getRealtimeMetrics(applicationId: "jobseek") {{ applicationId }}'
        for i in range(MAX_ROOT_FIELDS + 1)) + " }")
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert MAX_DEPTH < 10


def test_depth_counts_through_fragments() -> None:
    from graphql import parse, validate

    from analytics.api.schema import QueryLimits

    nested = "{ getRealtimeMetrics(applicationId: \"x\") { service { ...A } } } " \
             "fragment A on Panel { lines { ...B } } fragment B on Line { points { value } }"
    assert validate(schema(), parse(nested), [QueryLimits]) == []
    import analytics.api.schema as module

    original = module.MAX_DEPTH
    module.MAX_DEPTH = 4
    try:
        errors = validate(schema(), parse(nested), [QueryLimits])
    finally:
        module.MAX_DEPTH = original
    assert [e.extensions["code"] for e in errors] == ["QUERY_TOO_COMPLEX"]
    assert "nests 5 levels" in errors[0].message


def test_without_a_credential_the_api_answers_401(twin: Twin) -> None:
    status, body = post(twin, "{ __typename }", token="")
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_syntax_errors_and_unknown_fields_are_400_with_a_code(twin: Twin) -> None:
    for query in ("{ getMetrics(", "{ nope }", '{ getRealtimeMetrics(applicationId: 1) { x } }'):
        status, body = post(twin, query)
        assert status == 400 and body["errors"][0]["extensions"]["code"] == \
            "GRAPHQL_VALIDATION_FAILED", query


def test_publishing_is_not_for_callers(twin: Twin) -> None:
    status, body = post(twin, """mutation { publishMetricUpdate(input: {applicationId: "jobseek",
        metricType: CUSTOM, metricName: "M", points: [], committedAt: "2026-01-01T00:00:00Z"})
        { metricName } }""")
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_an_answer_over_the_size_limit_is_refused(twin: Twin, monkeypatch: Any) -> None:
    import analytics.api.schema as module

    monkeypatch.setattr(module, "MAX_RESULT_BYTES", 2_000)
    status, body = post(twin, '{ getRealtimeMetrics(applicationId: "jobseek") '
                              '{ service { lines { points { timestamp value } } } } }')
    assert status == 200 and body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "RESULT_TOO_LARGE"
