"""Key building: canonical dimensions, the 38-digit sort key, item layout and de-duplication."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ingest.keys import (
    SORT_KEY_SHIFT,
    build_item,
    canonical_dims,
    dedupe,
    dims_hash,
    parse_dims,
    sort_key,
    sort_key_range,
    split_sort_key,
)

pairs = st.dictionaries(st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8)).map(
    lambda d: sorted(d.items())
)


def test_canonical_dims_sorted_and_escaped() -> None:
    assert canonical_dims([("b", "2"), ("a", "1")]) == "a=1,b=2"
    assert canonical_dims([]) == ""
    assert canonical_dims([("a", "b,c=d")]) == "a=b\\,c\\=d"
    assert canonical_dims([("a", "b,c=d")]) != canonical_dims([("a", "b"), ("c", "d")])


@given(pairs)
def test_parse_dims_inverts_canonical_dims(dims: list[tuple[str, str]]) -> None:
    assert parse_dims(canonical_dims(dims)) == dims


@given(pairs, pairs)
def test_canonical_form_is_injective(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> None:
    assert (canonical_dims(a) == canonical_dims(b)) == (a == b)


@given(st.integers(0, 9_999_999_999_999), pairs)
def test_sort_key_fits_38_digits_and_keeps_time_order(ts: int, dims: list[tuple[str, str]]) -> None:
    key = sort_key(ts, canonical_dims(dims))
    assert len(str(key)) <= 38
    assert split_sort_key(key) == (ts, dims_hash(canonical_dims(dims)))
    assert sort_key(ts + 1, "") > key
    low, high = sort_key_range(ts, ts)
    assert low <= key <= high < sort_key(ts + 1, "")


def test_dims_hash_is_stable_across_processes() -> None:
    # blake2b-64 of "Plan=pro": a constant, unlike hash() (randomised per process)
    assert dims_hash("Plan=pro") == int.from_bytes(
        __import__("hashlib").blake2b(b"Plan=pro", digest_size=8).digest(), "big"
    )
    assert dims_hash("") < SORT_KEY_SHIFT


def test_build_item_layout() -> None:
    item = build_item(app="jobseek", metric_name="A#b", value=-0.0, unit=None,
                      dimensions=[("z", "1"), ("a", "2")], ts_ms=1_000_123,
                      received_at_ms=1_000_999, retention_days=90)  # fmt: skip
    assert item.metric_id == "jobseek#A#b"
    assert item.dims == "a=2,z=1" and item.dimensions == (("a", "2"), ("z", "1"))
    assert item.value == Decimal("0.0") and str(item.value) == "0.0"
    assert item.ttl == 1_000 + 90 * 86_400
    tenth = build_item(app="x", metric_name="m", value=0.1, unit="Count", dimensions=[],
                       ts_ms=0, received_at_ms=0, retention_days=1)  # fmt: skip
    assert tenth.value == Decimal("0.1")


def test_dedupe_keeps_the_last_and_maps_positions() -> None:
    def item(value: float, ts: int) -> object:
        return build_item(app="a", metric_name="m", value=value, unit=None, dimensions=[],
                          ts_ms=ts, received_at_ms=ts, retention_days=1)  # fmt: skip

    unique, groups = dedupe([item(1, 5), item(2, 6), item(3, 5)])  # type: ignore[list-item]
    assert [u.value for u in unique] == [Decimal("3.0"), Decimal("2.0")]
    assert groups == [[0, 2], [1]]
