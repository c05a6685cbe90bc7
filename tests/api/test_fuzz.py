"""Fuzzed arguments: whatever a caller sends, the answer is data or errors with a code, never
a 500 and never an internal error."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Twin

text = st.one_of(st.text(max_size=40), st.sampled_from([
    "jobseek", "ilikeyacut", "", "2026-11-30T10:00:00Z", "2026-13-40", "-1", "99999999999999999",
    "1970-01-01", "p95", "p100", "p99.99", "Sum", "nan", "\u0000", "jobseek#x"]))
metric_type = st.sampled_from(["LATENCY", "REQUESTS", "CUSTOM", "S3_BUCKET_SIZE", "RDS_CPU",
                               "DYNAMODB_LATENCY", "NOPE"])
granularity = st.one_of(st.none(), st.sampled_from(["AUTO", "MINUTE", "DAY", "HOUR", "X"]))
values = st.fixed_dictionaries({
    "app": text, "type": metric_type, "start": text, "end": text, "g": granularity,
    "stats": st.one_of(st.none(), st.lists(text, max_size=12)),
    "name": st.one_of(st.none(), text), "cs": text, "ce": text,
})
QUERY = """query($app: String!, $type: MetricType!, $start: String!, $end: String!,
                 $g: Granularity, $stats: [String!], $name: String, $cs: String!, $ce: String!) {
  getMetrics(applicationId: $app, metricType: $type, startTime: $start, endTime: $end,
             granularity: $g, statistics: $stats, metricName: $name) { periodSeconds }
  getCostAnalysis(startDate: $cs, endDate: $ce) { total }
}"""
CODES = {"FORBIDDEN", "UNKNOWN_APPLICATION", "UNKNOWN_METRIC", "BAD_ARGUMENT", "BAD_RANGE",
         "RANGE_TOO_OLD", "BAD_GRANULARITY", "BAD_STATISTIC", "TOO_MANY_POINTS",
         "RESULT_TOO_LARGE", "GRAPHQL_VALIDATION_FAILED"}


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(variables=values, viewer=st.booleans())
def test_any_arguments_get_data_or_coded_errors(twin: Twin, variables: dict[str, Any],
                                               viewer: bool) -> None:
    token = twin.tokens["jobseek"] if viewer else twin.operator
    status, body = twin.post_graphql(QUERY, variables, token)
    event(f"HTTP {status}")
    assert status in (200, 400), body
    json.dumps(body)
    codes = {e["extensions"]["code"] for e in body.get("errors") or []}
    for code in codes:
        event(code)
    assert codes <= CODES, body
    if status == 200 and not codes:
        assert body["data"]["getMetrics"]["periodSeconds"] > 0
