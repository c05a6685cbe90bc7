"""analytics.alarms on the 2-day local runtime: access scope, caching, stale data, timelines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from analytics.alarms import service as alarms
from analytics.alarms.config import parse_alarms
from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK, AlarmInfo, Transition
from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.sources import Runtime
from tests.alarms.conftest import ALWAYS_FIRING, NEVER_FIRING
from tests.conftest import NOW


@pytest.fixture
def viewer() -> Iterator[None]:
    access.set_principal(access.Principal("js-viewer", "viewer", frozenset({"jobseek"})))
    yield
    access.set_principal(None)


def test_every_configured_alarm_is_listed_alarm_first(firing_runtime: Runtime) -> None:
    rt = firing_runtime
    res = alarms.alarm_states(rt, rt.catalog.apps)
    names = [i.name for i in res.value]
    configured = [r.name for a in rt.catalog.apps for r in parse_alarms(a, rt.catalog.path).rules]
    assert sorted(names) == sorted(configured)
    assert res.value[0].state == ALARM and ALWAYS_FIRING in names
    ranks = [(ALARM, INSUFFICIENT_DATA, OK).index(i.state) for i in res.value]
    assert ranks == sorted(ranks)
    now = NOW
    for info in res.value:  # the 2-day store: every alarm has left INSUFFICIENT_DATA
        assert info.state in (ALARM, OK) and info.since < now
    assert not res.stale and res.error is None


def test_firing_alarm_history_and_metric(firing_runtime: Runtime) -> None:
    rt = firing_runtime
    info = alarms.find_alarm(rt, "jobseek", ALWAYS_FIRING)
    ev = info.evaluation
    now = NOW
    hist = alarms.alarm_history(
        rt, "jobseek", ALWAYS_FIRING, start=now - timedelta(days=3), end=now
    )
    assert [(t.old, t.new) for t in hist.value] == [(INSUFFICIENT_DATA, ALARM)]
    assert hist.value[0].at == info.since
    window = alarms.alarm_metric_window(rt, "jobseek", ALWAYS_FIRING).value
    assert window.moment == info.since and len(window.series) >= 12
    assert (window.series >= ev.threshold).all()  # Count >= 0: every datapoint breaches
    assert window.start < info.since <= window.end


def test_the_user_never_sees_alarms_of_other_apps(firing_runtime: Runtime, viewer: None
                                                  ) -> None:
    rt = firing_runtime
    res = alarms.alarm_states(rt, rt.catalog.apps)
    assert [(i.app, i.name, i.state) for i in res.value] == [
        ("jobseek", ALWAYS_FIRING, ALARM), ("jobseek", NEVER_FIRING, OK)]
    assert alarms.firing_counts(rt, rt.catalog.apps) == {"jobseek": 1}
    with pytest.raises(access.AccessDenied):
        alarms.alarm_history(rt, "ilikeyacut", "ilikeyacut-api-5xx-rate",
                             start=NOW - timedelta(hours=1), end=NOW)
    with pytest.raises(access.AccessDenied):
        alarms.alarm_metric_window(rt, "ilikeyacut", "ilikeyacut-api-5xx-rate")
    with pytest.raises(KeyError, match="no alarm named"):  # not another app's name either
        alarms.alarm_history(rt, "jobseek", "ilikeyacut-api-5xx-rate",
                             start=NOW - timedelta(hours=1), end=NOW)


def test_one_evaluation_serves_every_reader(firing_runtime: Runtime) -> None:
    rt = firing_runtime
    alarms.alarm_states(rt, rt.catalog.apps)
    alarms.firing_counts(rt, rt.catalog.apps)
    alarms.alarm_states(rt, [rt.catalog.get("jobseek")])
    assert rt.cache.snapshot()["upstream_calls"]["alarms"] == 2  # one per app


def test_failed_refresh_serves_stale_then_fails_loudly(firing_runtime: Runtime,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    rt = firing_runtime
    apps = list(rt.catalog.apps)
    good = alarms.alarm_states(rt, apps)
    for entry in rt.cache._entries.values():
        entry.expires_at = 0

    def boom(*a: object, **k: object) -> list[AlarmInfo]:
        raise ConnectionError("DescribeAlarms timed out")

    monkeypatch.setattr(rt.sources.alarms, "alarm_infos", boom)
    stale = alarms.alarm_states(rt, apps)
    assert stale.stale and "timed out" in (stale.error or "")
    assert [i.name for i in stale.value] == [i.name for i in good.value]
    assert alarms.firing_counts(rt, apps) == alarms.firing_counts(rt, apps)
    rt.cache.reset()
    with pytest.raises(UpstreamError, match="timed out"):
        alarms.alarm_states(rt, apps)
    assert alarms.firing_counts(rt, apps) == {}  # the Overview just shows no count


def _info(state: str, since: datetime) -> AlarmInfo:
    return AlarmInfo("a", "n", state, since)


T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_state_segments_cover_the_range() -> None:
    trs = [Transition(T + H, OK, ALARM), Transition(T + 2 * H, ALARM, OK)]
    segs = alarms.state_segments(_info(OK, T + 2 * H), trs, start=T, end=T + 4 * H)
    assert [(s.start, s.end, s.state) for s in segs] == [
        (T, T + H, OK), (T + H, T + 2 * H, ALARM), (T + 2 * H, T + 4 * H, OK)]
    # No change in range: the current state, from when it began if that is inside.
    segs = alarms.state_segments(_info(ALARM, T - H), [], start=T, end=T + H)
    assert [(s.start, s.state) for s in segs] == [(T, ALARM)]
    segs = alarms.state_segments(_info(OK, T + H / 2), [], start=T, end=T + H)
    assert [(s.start, s.end, s.state) for s in segs] == [(T + H / 2, T + H, OK)]
    segs = alarms.state_segments(_info(OK, T + 2 * H), [], start=T, end=T + H)
    assert [s.state for s in segs] == ["unknown"]
