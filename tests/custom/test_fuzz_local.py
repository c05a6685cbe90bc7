"""A short property test of the local endpoint over real HTTP (the long fuzz of the resolver lives
in tests/functions): whatever the body, a documented answer, never a 5xx, no write after a 4xx."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analytics.core.catalog import load_catalog
from analytics.local.custom_sink import DuckDBSink
from analytics.local.ingest_server import IngestServer, build_local_resolver
from analytics.local.store import LocalStore
from tests.conftest import NOW_MS, ROOT
from tests.custom.conftest import http_post

EXAMPLES = int(os.environ.get("LOCAL_FUZZ_EXAMPLES", "150"))

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(
    max_size=20)
dimension = st.fixed_dictionaries({"name": st.sampled_from(["Plan", "", " ", "A" * 256, "_aws"]),
                                   "value": st.sampled_from(["pro", "", "é", "x" * 300])})
item = st.fixed_dictionaries(
    {"applicationId": st.sampled_from(["jobseek", "ilikeyacut", "other", ""]),
     "metricName": st.sampled_from(["Ok", "bad name", "A" * 256, "x/y#z"]),
     "value": scalars},
    optional={"unit": st.sampled_from(["Count", "Seconds", "Furlongs", None]),
              "dimensions": st.lists(dimension, max_size=3) | scalars,
              "timestamp": st.sampled_from([NOW_MS - 1000, NOW_MS - 15 * 86_400_000,
                                            NOW_MS + 3_600_000, "2026-13-01", "yesterday",
                                            None]),
              "extra": scalars})
valid = st.fixed_dictionaries(
    {"applicationId": st.sampled_from(["jobseek", "ilikeyacut"]),
     "metricName": st.sampled_from(["Ok", "x/y#z"]),
     "value": st.floats(-1e9, 1e9, allow_nan=False) | st.integers(-(10**9), 10**9)},
    optional={"unit": st.sampled_from(["Count", "Seconds"]),
              "dimensions": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["P", "Q"]),
                                                            "value": st.sampled_from(["a", "b"])}),
                                     max_size=1),
              "timestamp": st.integers(NOW_MS - 86_400_000, NOW_MS - 1000)})
mixed = valid | item
body = (mixed | st.fixed_dictionaries({"metrics": st.lists(mixed, min_size=1, max_size=4)})
        | st.fixed_dictionaries({"metrics": st.lists(item, max_size=4) | scalars}) | scalars)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IngestServer,
                                                                          DuckDBSink]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    store = LocalStore(path)
    sink = DuckDBSink(store)
    server = IngestServer(build_local_resolver(load_catalog(ROOT / "apps.toml"), sink, "t",
                                               clock=lambda: NOW_MS / 1000), "t",
                          port=0).start()
    yield server, sink
    server.stop()
    store.close()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=body)
def test_any_body_gets_a_documented_answer(endpoint: tuple[IngestServer, DuckDBSink],
                                           payload: Any) -> None:
    server, sink = endpoint
    before = sink.count()
    status, answer = http_post(server.url, json.dumps(payload).encode(), "t", raw=True)
    event(f"HTTP {status}")
    assert status in (202, 400, 422), (status, answer)
    if status == 202:
        n = len(payload["metrics"]) if isinstance(payload, dict) and "metrics" in payload else 1
        assert answer == {"accepted": n}
        assert before <= sink.count() <= before + n
    else:
        assert answer["errors"] and all({"index", "field", "message"} <= e.keys()
                                        for e in answer["errors"])
        assert sink.count() == before
