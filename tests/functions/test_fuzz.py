"""Property tests: whatever the body, the endpoint answers a documented 2xx/4xx with a JSON error
list, never a 5xx, and never writes anything after a 4xx. An in-memory sink keeps it fast."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest.keys import (
    MetricItem,
    canonical_dims,
    decimal_value,
    metric_id,
    parse_dims,
    sort_key,
    split_sort_key,
)
from ingest.models import UNITS, _timestamp_ms
from tests.conftest import NOW_MS
from tests.functions.conftest import http_api_event, ingest_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
DAY_MS = 86_400_000
APPS = ["jobseek", "ilikeyacut"]


class RecordingSink:
    """Remembers every write call; writes always succeed."""

    def __init__(self) -> None:
        self.writes: list[list[MetricItem]] = []

    def write(self, items: list[MetricItem]) -> list[int]:
        self.writes.append(list(items))
        return []


SINK = RecordingSink()
RESOLVER = ingest_app.build_resolver(
    SINK, APPS, clock=lambda: NOW_MS / 1000, emit_emf=True,
    namespaces={"jobseek": "JobSeek/Business"},
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from([2**360, 2**400, 2.0**-300, -0.0, 10**30]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
ascii_text = st.text(st.characters(min_codepoint=0, max_codepoint=127), min_size=0, max_size=12)
dim_text = ascii_text | st.sampled_from(["", " ", "_aws", ":x", "a,b=c\\", "x" * 256]) | json_values
dimension = (
    st.fixed_dictionaries({"name": dim_text, "value": dim_text}, optional={"extra": json_values})
    | json_values
)
timestamps = (
    st.integers(NOW_MS - 15 * DAY_MS, NOW_MS + 10 * 60_000)
    | st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2030, 1, 1),
        timezones=st.sampled_from([None, UTC]),
    ).map(lambda d: d.isoformat())
    | st.datetimes().map(lambda d: d.isoformat())
    | json_values
)


def _name_not_a_dimension(m: dict[str, Any]) -> bool:
    return m["metricName"] not in {d["name"] for d in m.get("dimensions", [])}


valid_metric: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "applicationId": st.sampled_from(APPS),
        "metricName": st.from_regex(r"[A-Za-z0-9_.:/#-]{1,40}", fullmatch=True),
        "value": st.floats(min_value=-(2.0**360), max_value=2.0**360).filter(
            lambda v: v == 0 or abs(v) >= 2.0**-260
        )
        | st.integers(-(2**60), 2**60),
    },
    optional={
        "unit": st.sampled_from(sorted(UNITS)),
        "dimensions": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.from_regex(r"[!-9;-~][ -~]{0,20}", fullmatch=True).filter(
                        lambda s: s != "_aws"
                    ),
                    "value": st.from_regex(r"[ -~]{0,20}[!-~]", fullmatch=True),
                }
            ),
            max_size=30,
            unique_by=lambda d: d["name"],
        ),
        "timestamp": st.integers(NOW_MS - 14 * DAY_MS, NOW_MS + 5 * 60_000)
        | st.datetimes(
            min_value=datetime(1970, 1, 1) + timedelta(milliseconds=NOW_MS - 14 * DAY_MS + 1),
            max_value=datetime(1970, 1, 1) + timedelta(milliseconds=NOW_MS + 5 * 60_000 - 1),
        ).map(lambda d: d.isoformat() + "Z"),
    },
).filter(_name_not_a_dimension)


fields = {
    "applicationId": st.sampled_from([*APPS, "nope", "", "JOBSEEK"]) | json_values,
    "metricName": st.from_regex(r"[A-Za-z0-9_.:/#-]{1,20}", fullmatch=True)
    | st.sampled_from(["", "a b", "M" * 256, "caf\u00e9"])
    | json_values,
    "value": st.floats() | st.integers() | json_values,
    "unit": st.sampled_from(sorted(UNITS)) | st.sampled_from(["count", "none", ""]) | json_values,
    "dimensions": st.lists(dimension, max_size=4)
    | st.integers(29, 31).map(lambda n: [{"name": f"D{i}", "value": "v"} for i in range(n)])
    | json_values,
    "timestamp": timestamps,
    "bogus": json_values,
}


@st.composite
def mutated_metrics(draw: st.DrawFn) -> Any:
    """A valid metric with 0-3 mutations: a field replaced, dropped, or an unknown one added."""
    base = dict(draw(valid_metric))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(fields)))
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            base[name] = draw(fields[name])
        elif action == "drop":
            base.pop(name, None)
        else:
            base[draw(st.text(max_size=8))] = draw(json_values)
    return base


mutated_metric = mutated_metrics() | st.fixed_dictionaries({}, optional=fields)
bodies = st.one_of(
    json_values.map(json.dumps),
    mutated_metric.map(json.dumps),
    st.lists(mutated_metric, max_size=6).map(lambda items: json.dumps({"metrics": items})),
    st.tuples(mutated_metric, st.integers(95, 105)).map(
        lambda t: json.dumps({"metrics": [t[0]] * t[1]})
    ),
    st.fixed_dictionaries({"metrics": json_values}, optional={"x": json_values}).map(json.dumps),
    st.tuples(mutated_metric.map(json.dumps), st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
    st.binary(max_size=64),
    st.sampled_from(["[" * 5000, "1" * 5000, '{"value": 1e999}', "\ud800", "NaN"]),
    st.sampled_from([" " * 262_143 + "{}", "[" + "0," * 131_072 + "0]"]),  # 256 KB + 1 byte
)


@contextlib.contextmanager
def quiet_logger() -> Iterator[None]:
    level = ingest_app.logger.log_level
    ingest_app.logger.setLevel("WARNING")
    try:
        yield
    finally:
        ingest_app.logger.setLevel(level)


def post(body: str | bytes) -> tuple[int, dict[str, Any], list[str]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        answer = RESOLVER.resolve(http_api_event("POST", "/metrics", body=body), None)
    return answer["statusCode"], json.loads(answer["body"]), out.getvalue().splitlines()


@pytest.fixture(autouse=True, scope="module")
def _quiet() -> Iterator[None]:
    with quiet_logger():
        yield


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(bodies)
def test_never_a_5xx_and_never_a_write_after_a_4xx(body: str | bytes) -> None:
    writes_before = len(SINK.writes)
    status, answer, emf_lines = post(body)
    event(f"HTTP {status}")  # shown by pytest --hypothesis-show-statistics
    assert status in (202, 400, 413, 422), answer
    if status != 202:
        assert len(SINK.writes) == writes_before, "wrote after a 4xx"
        assert emf_lines == []
        assert answer["errors"], answer
        for error in answer["errors"]:
            assert set(error) == {"index", "field", "message"} and error["message"]
            if status == 422:
                assert isinstance(error["index"], int) and error["index"] >= 0
            else:
                assert error["index"] is None
        return
    [written] = SINK.writes[writes_before:]
    assert 1 <= len(written) <= answer["accepted"] <= 100
    assert len({item.key for item in written}) == len(written)
    assert len(emf_lines) == len(written)
    for line, item in zip(emf_lines, written, strict=True):
        blob = json.loads(line)
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        namespace = "JobSeek/Business" if item.app == "jobseek" else f"Application/{item.app}"
        assert directive["Namespace"] == namespace
        assert directive["Dimensions"] == [[name for name, _ in item.dimensions]]
        assert blob["_aws"]["Timestamp"] == item.ts_ms
        assert blob[item.metric_name] == [float(item.value)]


@settings(max_examples=max(EXAMPLES // 10, 20), deadline=None)
@given(st.lists(valid_metric, min_size=1, max_size=10))
def test_valid_metrics_are_accepted_and_stored_faithfully(batch: list[dict[str, Any]]) -> None:
    writes_before = len(SINK.writes)
    status, answer, _ = post(json.dumps({"metrics": batch}))
    assert (status, answer) == (202, {"accepted": len(batch)})
    [written] = SINK.writes[writes_before:]
    stored = {item.key: item for item in written}
    seen: set[tuple[str, int]] = set()
    for m in reversed(batch):  # the last of several identical datapoints wins
        dims = sorted((d["name"], d["value"]) for d in m.get("dimensions", []))
        ts = m.get("timestamp", NOW_MS)
        ts = ts if isinstance(ts, int) else _timestamp_ms(ts)
        key = (metric_id(m["applicationId"], m["metricName"]), sort_key(ts, canonical_dims(dims)))
        if key in seen:
            continue
        seen.add(key)
        item = stored[key]
        assert parse_dims(item.dims) == dims == list(item.dimensions)
        assert split_sort_key(item.sort_key)[0] == item.ts_ms == ts
        assert (item.app, item.metric_name, item.unit) == (
            m["applicationId"],
            m["metricName"],
            m.get("unit"),
        )
        assert item.value == decimal_value(m["value"])
        assert item.received_at == NOW_MS
    assert len(stored) == len(seen)
