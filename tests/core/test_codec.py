"""The shared tier's wire format: what crosses it comes back equal, and nothing in it can make
the dashboard import or run code (no pickle; only already-imported classes of the project)."""

from __future__ import annotations

import base64
import pickle
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analytics.auth.pages import PAGES
from analytics.core import codec
from analytics.core.cache import QueryCache
from analytics.core.permissions import Scope
from analytics.core.tier import RedisTier, SharedValue, redis_client
from analytics.costs.forecast import Forecast
from analytics.sources import Runtime
from tests.helpers import signed_in_app
from tests.redis_server import RedisServer


@dataclass(frozen=True)
class Point:
    """A dataclass of the tests, not of the dashboard: never rebuilt from the tier."""

    at: date
    value: float


def test_values_of_every_carried_type_come_back_equal() -> None:
    # GIVEN a value mixing what the services cache: frames with attrs, dates, tuples, sets,
    # dict keys that are not strings, numpy scalars, NaN, the project's dataclasses and enums
    frame = pd.DataFrame({"start": [date(2026, 11, 1), date(2026, 11, 2)],
                          "amount": [1.5, float("nan")], "app": ["a", "b"]},
                         index=pd.Index([3, 7], name="row"))
    frame.attrs["notes"] = ("partial data",)
    value = {
        "frame": frame,
        ("k", 1): [Forecast(date(2026, 11, 30), date(2026, 12, 1), 2.5, 2.0, 3.0, 80, "x")],
        "when": datetime(2026, 11, 30, 12, tzinfo=UTC), "span": timedelta(minutes=5),
        "ids": frozenset({"b", "a"}), "n": np.int64(3), "x": np.float64(0.25),
        "ts": pd.Timestamp("2026-11-30T12:00:00Z"),
        "series": pd.Series([1.0, 2.0], index=pd.date_range("2026-11-30", periods=2, tz="UTC"),
                            name="p95"), "scope": Scope(next(iter(Scope))), "none": None,
    }
    # WHEN it crosses the wire
    back = codec.decode(codec.encode(value))
    # THEN it is equal, frames included (index, dtypes and attrs)
    pd.testing.assert_frame_equal(back.pop("frame"), frame)
    pd.testing.assert_series_equal(back.pop("series"), value.pop("series"), check_freq=False)
    assert back.pop("frame", None) is None and frame.attrs == {"notes": ("partial data",)}
    assert back == {k: v for k, v in value.items() if k != "frame"}
    assert type(back["n"]) is int and type(back["scope"]) is Scope
    assert isinstance(back[("k", 1)][0], Forecast)


def test_keys_have_one_text_in_every_process() -> None:
    # GIVEN the same key built with a set in two orders
    # WHEN both are named
    # THEN the names are equal (set order never leaks into a key)
    assert codec.key_text(("k", frozenset({"b", "a"}))) == \
        codec.key_text(("k", frozenset({"a", "b"})))


@pytest.mark.parametrize("value", [object(), lambda: 1, uuid.uuid4(), {1: open},
                                   Point(date(2026, 1, 1), 1.0)])
def test_what_has_no_wire_form_stays_in_l1(value: Any) -> None:
    with pytest.raises(codec.Unencodable):
        codec.encode(value)


def test_a_pickle_or_a_foreign_class_in_the_tier_runs_nothing() -> None:
    # GIVEN payloads a hostile writer of the tier could store
    evil_pickle = pickle.dumps(Point(date(2026, 1, 1), 1.0))
    test_class = b'{"f":1,"v":{"__t":"dc","c":"tests.core.test_codec:Point","v":{}}}'
    foreign = b'{"f":1,"v":{"__t":"dc","c":"os:_wrap_close","v":{}}}'
    not_imported = b'{"f":1,"v":{"__t":"dc","c":"analytics.nowhere:Thing","v":{}}}'
    frame_with_pickle = ('{"f":1,"v":{"__t":"df","v":"'
                         + base64.b64encode(evil_pickle).decode() + '"}}').encode()
    # WHEN they are read THEN each is refused, and no module was imported for them
    for raw in (evil_pickle, test_class, foreign, not_imported, frame_with_pickle):
        with pytest.raises(codec.Undecodable):
            codec.decode(raw)
    assert "analytics.nowhere" not in sys.modules


class RecordingTier(RedisTier):
    """The real tier, noting every value it could not share."""

    refused: list[str]

    def put(self, kind: str, skey: str, value: SharedValue) -> bool:
        try:
            codec.encode(value.value)
        except codec.Unencodable as exc:
            self.refused.append(f"{kind}: {exc}")
        return super().put(kind, skey, value)


@pytest.fixture
def tiered(installed_runtime: Runtime, redis_server: RedisServer) -> Iterator[Runtime]:
    """The suite's local runtime with its cache in front of a real tier (restored after)."""
    tier = RecordingTier(redis_client(redis_server.url, timeout_s=2.0, connect_timeout_s=2.0),
                         namespace=f"pages-{uuid.uuid4().hex[:8]}")
    tier.refused = []
    plain = installed_runtime.cache
    installed_runtime.cache = QueryCache(tier=tier)
    try:
        yield installed_runtime
    finally:
        installed_runtime.cache = plain


def test_every_pages_cached_values_cross_the_tier(tiered: Runtime) -> None:
    # GIVEN every page drawn once by a task, filling the tier
    pages = [p.path for p in PAGES]
    for path in pages:
        at = signed_in_app(path).run()
        assert not at.exception, (path, [e.value for e in at.exception])
    tier = tiered.cache.tier
    assert isinstance(tier, RecordingTier)
    assert tier.refused == []
    # WHEN another task (a fresh L1 on the same tier) draws them again
    tiered.cache = QueryCache(tier=tier)
    for path in pages:
        at = signed_in_app(path).run()
        # THEN every page draws from the decoded values, most of them read from the tier
        assert not at.exception, (path, [e.value for e in at.exception])
    snap = tiered.cache.snapshot()
    assert snap["l2_hits"] > snap["l2_misses"], snap
