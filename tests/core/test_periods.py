from datetime import UTC, datetime, timedelta

import pytest

from analytics.core.periods import (
    DAY,
    PRESETS,
    PeriodError,
    align_down,
    align_up,
    choose_period,
    make_range,
    min_period_for_age,
    period_is_valid,
    preset_range,
)

NOW = datetime(2026, 11, 24, 12, 34, 56, tzinfo=UTC)


@pytest.mark.parametrize(("age_days", "multiple"), [
    (0, 60), (15, 60), (15 + 1 / 86400, 300), (63, 300), (63 + 1 / 86400, 3600), (455, 3600),
])
def test_retention_tiers_at_their_edges(age_days: float, multiple: int) -> None:
    assert min_period_for_age(age_days * DAY) == multiple


def test_older_than_455_days_is_refused() -> None:
    with pytest.raises(PeriodError, match="455 days"):
        min_period_for_age(455 * DAY + 1)


def test_period_validity_follows_retention() -> None:
    assert period_is_valid(60, NOW - timedelta(days=15), NOW)
    assert not period_is_valid(60, NOW - timedelta(days=15, seconds=1), NOW)
    assert period_is_valid(300, NOW - timedelta(days=63), NOW)
    assert not period_is_valid(600 + 60, NOW - timedelta(days=20), NOW)
    assert not period_is_valid(300, NOW - timedelta(days=64), NOW)
    assert period_is_valid(7200, NOW - timedelta(days=64), NOW)
    assert not period_is_valid(30, NOW - timedelta(minutes=5), NOW)


def test_choose_period_never_breaks_retention_for_any_preset() -> None:
    for name in PRESETS:
        tr = preset_range(name, NOW)
        assert period_is_valid(tr.period, tr.previous().start, NOW), name
        assert tr.start.timestamp() % tr.period == 0 and tr.end.timestamp() % tr.period == 0
        assert tr.seconds // tr.period <= 240


def test_choose_period_respects_point_budget_and_tier() -> None:
    assert choose_period(NOW - timedelta(hours=1), NOW, now=NOW) == 60
    assert choose_period(NOW - timedelta(days=1), NOW, now=NOW) == 600
    # 20 days back: 1-minute data is gone, so even a tiny range needs a 5-minute multiple.
    start = NOW - timedelta(days=20)
    assert choose_period(start, start + timedelta(minutes=30), now=NOW) == 300
    assert choose_period(NOW - timedelta(days=100), NOW - timedelta(days=99), now=NOW) == 3600


def test_alignment_makes_the_same_key_within_a_period() -> None:
    a = preset_range("1h", NOW)
    b = preset_range("1h", NOW + timedelta(seconds=3))
    assert a.key() == b.key()
    assert a.end == datetime(2026, 11, 24, 12, 34, tzinfo=UTC)
    assert align_down(NOW, 300) == datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    assert align_up(NOW, 300) == datetime(2026, 11, 24, 12, 35, tzinfo=UTC)


def test_reversed_range_is_an_error() -> None:
    with pytest.raises(PeriodError, match="before it starts"):
        make_range(NOW, NOW - timedelta(hours=1), now=NOW)


def test_previous_window_is_adjacent_and_same_length() -> None:
    tr = preset_range("24h", NOW)
    prev = tr.previous()
    assert prev.end == tr.start and prev.seconds == tr.seconds
