"""The local twin's write path below HTTP: the DuckDB sink's upserts (small batches as VALUES,
big ones as Arrow, a plain INSERT first and an overwrite when a key is resent), the series
registry kept in memory from every commit, the group-commit ticket's callbacks, and live updates
built only for apps someone watches."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from analytics.api.updates import Interest, UpdateHub
from analytics.local.custom_sink import (
    VALUES_ROWS,
    DuckDBSeriesRegistry,
    DuckDBSink,
    items_frame,
)
from analytics.local.group_commit import Ticket
from analytics.local.store import LocalStore
from ingest.guard import Caps
from ingest.keys import MetricItem, build_item

NOW_MS = 1_795_000_000_000  # a fixed instant: nothing here reads the clock
DAY_MS = 86_400_000


def item(name: str, ts_ms: int, value: float, *, dims: tuple[tuple[str, str], ...] = (),
         app: str = "jobseek") -> MetricItem:
    return build_item(app=app, metric_name=name, value=value, unit="Count", dimensions=dims,
                      ts_ms=ts_ms, received_at_ms=NOW_MS, retention_days=90)


def stored(store: LocalStore, name: str) -> dict[int, float]:
    rows = store.cursor().execute(
        "SELECT ts_ms, value FROM custom_metrics WHERE metric_name = ? ORDER BY ts_ms",
        [name]).fetchall()
    return {int(ts): float(v) for ts, v in rows}


@pytest.fixture
def sink(tmp_path: Path) -> Any:
    store = LocalStore(tmp_path / "sink.duckdb")
    yield DuckDBSink(store)
    store.close()


@pytest.mark.parametrize("size", [1, VALUES_ROWS, VALUES_ROWS + 1, 250])
def test_a_resent_batch_overwrites_and_a_mixed_one_adds_only_the_new(sink: DuckDBSink,
                                                                     size: int) -> None:
    # GIVEN a batch of `size` points stored once (VALUES up to VALUES_ROWS rows, Arrow above)
    first = [item("Orders", NOW_MS - k * 1000, float(k)) for k in range(size)]
    assert sink.write(first) == []
    # WHEN the same keys are resent with new values, then a batch half old keys, half new
    assert sink.write([item("Orders", NOW_MS - k * 1000, 100.0 + k) for k in range(size)]) == []
    mixed = [item("Orders", NOW_MS - k * 1000, 500.0 + k) for k in range(size // 2, size + 3)]
    assert sink.write(mixed) == []
    # THEN every key is stored once, with the value sent last
    got = stored(sink.store, "Orders")
    assert len(got) == size + 3 == sink.count()
    assert all(got[NOW_MS - k * 1000] == 100.0 + k for k in range(size // 2))
    assert all(got[NOW_MS - k * 1000] == 500.0 + k for k in range(size // 2, size + 3))


def test_one_key_twice_in_a_batch_keeps_the_last(sink: DuckDBSink) -> None:
    # GIVEN a batch naming one key twice (as DynamoDB's BatchWriteItem would refuse)
    batch = [item("Clicks", NOW_MS, 1.0), item("Clicks", NOW_MS - 5, 2.0),
             item("Clicks", NOW_MS, 3.0)]
    # WHEN it is written
    assert sink.write(batch) == []
    # THEN the later point of the key wins, as the Lambda's dedupe does
    assert stored(sink.store, "Clicks") == {NOW_MS - 5: 2.0, NOW_MS: 3.0}


def test_a_failed_transaction_writes_nothing_and_reports_every_position(
        sink: DuckDBSink, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a store whose transactions fail
    def broken(*_a: object, **_k: object) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(sink.store, "transaction", broken)
    heard: list[Any] = []
    sink.listeners.append(heard.append)
    # WHEN a batch is written
    failed = sink.write([item("Orders", NOW_MS - k, 1.0) for k in range(3)])
    # THEN every position is reported unwritten and no listener heard of it
    assert failed == [0, 1, 2] and heard == []
    monkeypatch.undo()
    assert sink.count() == 0


def test_the_registry_counts_series_written_after_it_loaded_by_any_path(sink: DuckDBSink
                                                                       ) -> None:
    # GIVEN a registry over a table holding two live names of jobseek, loaded by a first check
    assert sink.write([item("A", NOW_MS - DAY_MS, 1), item("B", NOW_MS - DAY_MS, 1)]) == []
    registry = DuckDBSeriesRegistry(sink.store)
    sink.listeners.append(registry.record)
    caps = {"jobseek": Caps(max_names=3, max_dimension_sets=2)}
    window = 30 * DAY_MS
    assert registry.admit({"jobseek": {"C": frozenset({""})}}, caps=caps, now_ms=NOW_MS,
                          window_ms=window) is None
    # WHEN a third name arrives through the feeder's frame path, not the endpoint
    assert sink.write_frame(items_frame([item("C", NOW_MS - 1000, 1)])) == 1
    # THEN a fourth name is refused, while a known name with a second dimension set passes
    # and a third dimension set of it does not
    over = registry.admit({"jobseek": {"D": frozenset({""})}}, caps=caps, now_ms=NOW_MS,
                          window_ms=window)
    assert over is not None and (over.cap, over.limit) == ("max_metric_names", 3)
    assert registry.admit({"jobseek": {"A": frozenset({"Plan=pro"})}}, caps=caps,
                          now_ms=NOW_MS, window_ms=window) is None
    assert sink.write([item("A", NOW_MS, 1, dims=(("Plan", "pro"),))]) == []
    over = registry.admit({"jobseek": {"A": frozenset({"Plan=free"})}}, caps=caps,
                          now_ms=NOW_MS, window_ms=window)
    assert over is not None and (over.cap, over.metric) == ("max_dimension_sets", "A")
    # AND another app's caps are untouched by jobseek's series
    assert registry.admit({"ilikeyacut": {"D": frozenset({""})}}, caps=caps, now_ms=NOW_MS,
                          window_ms=window) is None


def test_series_older_than_the_window_are_not_live(sink: DuckDBSink) -> None:
    # GIVEN three names written 20 days ago, known to the registry
    old = NOW_MS - 20 * DAY_MS
    registry = DuckDBSeriesRegistry(sink.store)
    sink.listeners.append(registry.record)
    caps = {"jobseek": Caps(max_names=3, max_dimension_sets=5)}
    assert registry.admit({}, caps=caps, now_ms=NOW_MS, window_ms=DAY_MS) is None  # loads
    assert sink.write_frame(items_frame([item(n, old, 1) for n in "XYZ"])) == 3
    # WHEN a fourth name comes, checked with a 10-day window, then with a 30-day one
    batch = {"jobseek": {"W": frozenset({""})}}
    # THEN only the window that still holds the old names refuses it
    assert registry.admit(batch, caps=caps, now_ms=NOW_MS, window_ms=10 * DAY_MS) is None
    assert registry.admit(batch, caps=caps, now_ms=NOW_MS, window_ms=30 * DAY_MS) is not None


def test_a_ticket_calls_back_once_committed_or_at_once_if_it_already_is() -> None:
    # GIVEN a ticket with one callback registered before its commit
    ticket = Ticket([object(), object()])
    early: list[list[int]] = []
    ticket.add_done_callback(early.append)
    assert early == []
    # WHEN it finishes with position 1 failed, and a callback is added afterwards
    ticket.finish([1])
    late: list[list[int]] = []
    ticket.add_done_callback(late.append)
    # THEN both hear the same outcome exactly once, and wait() returns it too
    assert early == [[1]] and late == [[1]] and ticket.wait(0) == [1]


def test_updates_are_built_only_for_apps_someone_watches() -> None:
    # GIVEN a hub with one subscriber to jobseek's custom metrics
    hub = UpdateHub()
    batch = [item("Orders", NOW_MS, 2.0), item("Cuts", NOW_MS, 1.0, app="ilikeyacut")]

    async def scenario() -> tuple[int, int, dict[str, Any]]:
        nobody = hub.publish_committed(batch, committed_ms=NOW_MS)
        stream = hub.stream(Interest("jobseek", frozenset({"CUSTOM"})))
        # WHEN a commit holding both apps' points is published
        queued = hub.publish_committed(batch, committed_ms=NOW_MS + 5)
        update = await asyncio.wait_for(anext(stream), 5)
        await stream.aclose()  # type: ignore[attr-defined]
        return nobody, queued, update

    nobody, queued, update = asyncio.run(scenario())
    # THEN with no subscriber nothing was built, and the subscriber gets jobseek's point only
    assert nobody == 0 and hub.published == 1 and queued == 1
    assert (update["applicationId"], update["metricName"]) == ("jobseek", "Orders")
    assert [p["value"] for p in update["points"]] == [2.0]
