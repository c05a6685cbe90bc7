"""The ingest contract against both sinks: the local endpoint over a real socket (DuckDB) and the
Lambda's resolver writing to moto DynamoDB. Same bodies, same answers, same stored items."""

from __future__ import annotations

import json
import time

import pytest

from ingest import keys as ingest_keys
from tests.conftest import NOW_MS
from tests.custom.conftest import Endpoint, metric, unique_name

DAY_MS = 86_400_000


def test_single_metric_is_accepted_and_stored_with_the_table_layout(endpoint: Endpoint) -> None:
    name = unique_name()
    ts = NOW_MS - 30_000
    status, body = endpoint.post(metric(metricName=name, value=0.1, timestamp=ts))
    assert (status, body) == (202, {"accepted": 1})
    [row] = endpoint.rows(name)
    assert row["metricId"] == f"jobseek#{name}"
    assert row["timestamp"] == ingest_keys.sort_key(ts, "Plan=pro")
    assert row["timestamp"] == ts * 10**20 + ingest_keys.dims_hash("Plan=pro")
    assert (row["ts_ms"], row["dims"], row["value"], row["unit"]) == (ts, "Plan=pro", 0.1, "Count")
    assert (row["app"], row["metricName"]) == ("jobseek", name)
    assert row["receivedAt"] == NOW_MS  # the endpoint's clock: the runtime's frozen one
    assert row["ttl"] == ts // 1000 + 90 * 86_400


def test_a_batch_of_100_is_stored_item_by_item(endpoint: Endpoint) -> None:
    name = unique_name()
    now = NOW_MS
    batch = [metric(metricName=name, value=i, timestamp=now - 1000 - i) for i in range(100)]
    assert endpoint.post({"metrics": batch}) == (202, {"accepted": 100})
    rows = endpoint.rows(name)
    assert sorted(r["value"] for r in rows) == [float(i) for i in range(100)]


def test_any_invalid_item_rejects_the_whole_batch_naming_index_and_field(
        endpoint: Endpoint) -> None:
    name = unique_name()
    batch = [metric(metricName=name), metric(metricName=name, value="three", timestamp=1),
             metric(metricName=name, applicationId="unknown-app")]
    status, body = endpoint.post({"metrics": batch})
    assert status == 422
    located = {(e["index"], e["field"]) for e in body["errors"]}
    assert {(1, "value"), (1, "timestamp"), (2, "applicationId")} <= located
    assert all(e["index"] != 0 for e in body["errors"])
    assert endpoint.rows(name) == []


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"metrics": []}', b""])
def test_malformed_bodies_are_400(endpoint: Endpoint, raw: bytes) -> None:
    status, body = endpoint.post_raw(raw)
    assert status == 400
    assert body["errors"] and body["errors"][0]["index"] is None


def test_a_body_over_256_kb_is_413_and_writes_nothing(endpoint: Endpoint) -> None:
    name = unique_name()
    pad = [{"name": f"D{i}", "value": "x" * 250} for i in range(30)]
    batch = [metric(metricName=name, dimensions=pad, timestamp=NOW_MS - i)
             for i in range(100)]
    raw = json.dumps({"metrics": batch}).encode()
    assert len(raw) > 262_144
    status, body = endpoint.post_raw(raw)
    assert status == 413
    assert "262144" in body["errors"][0]["message"]
    assert endpoint.rows(name) == []


def test_without_a_credential_it_is_401_and_nothing_is_written(endpoint: Endpoint) -> None:
    name = unique_name()
    status, body = endpoint.post_unauthenticated(metric(metricName=name))
    assert status == 401
    assert body["errors"][0]["message"] == "missing or invalid credentials"
    assert endpoint.rows(name) == []


def test_the_same_datapoint_twice_is_one_item_and_the_last_value_wins(endpoint: Endpoint) -> None:
    name = unique_name()
    ts = NOW_MS - 5_000
    assert endpoint.post(metric(metricName=name, value=1, timestamp=ts))[0] == 202
    assert endpoint.post(metric(metricName=name, value=2, timestamp=ts))[0] == 202
    # Same instant in ISO form, dimensions listed in another order: still the same datapoint.
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1000)) + f".{ts % 1000:03d}Z"
    dims = [{"name": "Region", "value": "eu"}, {"name": "Plan", "value": "pro"}]
    assert endpoint.post(metric(metricName=name, value=5, timestamp=ts, dimensions=dims[::-1]))[
        0] == 202
    assert endpoint.post({"metrics": [metric(metricName=name, value=7, timestamp=iso,
                                             dimensions=dims)] * 3}) == (202, {"accepted": 3})
    rows = endpoint.rows(name)
    assert [(r["dims"], r["value"]) for r in rows] in (
        [("Plan=pro", 2.0), ("Plan=pro,Region=eu", 7.0)],
        [("Plan=pro,Region=eu", 7.0), ("Plan=pro", 2.0)],
    )


def test_different_dimension_sets_at_one_instant_are_distinct_items(endpoint: Endpoint) -> None:
    name = unique_name()
    ts = NOW_MS - 2_000
    batch = [metric(metricName=name, timestamp=ts, dimensions=[{"name": "Plan", "value": p}])
             for p in ("free", "pro", "team")] + [
        metric(metricName=name, timestamp=ts, dimensions=None)]
    assert endpoint.post({"metrics": batch}) == (202, {"accepted": 4})
    rows = endpoint.rows(name)
    assert sorted(r["dims"] for r in rows) == ["", "Plan=free", "Plan=pro", "Plan=team"]
    assert len({r["timestamp"] for r in rows}) == 4
    assert {r["timestamp"] // 10**20 for r in rows} == {ts}


def test_timestamps_outside_the_window_are_422(endpoint: Endpoint) -> None:
    name = unique_name()
    now = NOW_MS
    status, body = endpoint.post({"metrics": [
        metric(metricName=name, timestamp=now - 15 * DAY_MS),
        metric(metricName=name, timestamp=now + 10 * 60_000)]})
    assert status == 422
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(0, "timestamp"),
                                                                   (1, "timestamp")}
    assert endpoint.rows(name) == []


def test_both_sinks_store_identical_items(request: pytest.FixtureRequest) -> None:
    local = request.getfixturevalue("custom_rt")
    side = request.getfixturevalue("aws")
    from tests.custom.conftest import ddb_rows, http_post, local_rows

    srv, tok = request.getfixturevalue("server"), request.getfixturevalue("token")
    name = unique_name()
    now = NOW_MS
    batch = [metric(metricName=name, value=v, timestamp=now - 10_000 - i, unit=u,
                    dimensions=d)
             for i, (v, u, d) in enumerate([
                 (1.5, "Count", [{"name": "Plan", "value": "a,b=c"}]),
                 (-2.25e-3, None, None),
                 (1e100, "Seconds", [{"name": "K", "value": "v"}, {"name": "A", "value": "z"}]),
             ])]
    assert http_post(srv.url, {"metrics": batch}, tok)[0] == 202
    assert side.post({"metrics": batch})[0] == 202

    def strip(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        return [{k: v for k, v in r.items() if k != "receivedAt"} for r in rows]

    assert strip(local_rows(local, name)) == strip(ddb_rows(side.scan(), name))
    assert len(local_rows(local, name)) == 3
