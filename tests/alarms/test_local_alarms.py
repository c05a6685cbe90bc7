"""The local backend: the simulator's incidents appear as alarms with a state history.

A fixed simulated week (2026-03-04 .. 03-08, seed 7) holds each incident kind for both apps;
its five days are written to a throwaway store and the catalog's alarms evaluated on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from analytics.alarms.config import AlarmConfig, parse_alarms
from analytics.alarms.local import LocalAlarms
from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK, sort_key
from analytics.alarms.source import AlarmHistoryPending
from analytics.core.catalog import App, load_catalog
from analytics.local.simulator import DAY_MS, Incident, generate_day, incidents_for_week
from analytics.local.store import LocalStore
from analytics.metrics.local import LocalMetrics
from analytics.metrics.queries import MetricQuery
from tests.conftest import ROOT

SEED = 7
WEEK = 8  # 2026-03-02 .. 03-08: every incident of both apps falls on days 20516 .. 20520
DAYS = range(20516, 20521)
CATALOG = load_catalog(ROOT / "apps.toml")
DATA_START = datetime.fromtimestamp(DAYS[0] * DAY_MS / 1000, UTC)
DATA_END = datetime.fromtimestamp((DAYS[-1] + 1) * DAY_MS / 1000, UTC)
SLACK = timedelta(minutes=15)  # an alarm may fire up to N periods after the incident ends


def ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def incidents(app: App) -> list[Incident]:
    return incidents_for_week(app, WEEK, SEED)


def expected_alarms(app: App, inc: Incident) -> set[str]:
    """Which of the catalog's alarms an incident must trip (mirrors the simulator's effects)."""
    res, p = app.resources, app.alarm_prefix

    def named(resource: str, suffix: str) -> str:
        return (resource if resource.startswith(p) else p + resource) + suffix

    if inc.kind == "error_burst":  # 9 % 5xx on the first API, 7 % errors on the first Lambda
        return {named(res.apis[0].name, "-5xx-rate"), named(res.lambdas[0], "-error-rate")}
    if inc.kind == "throttling":  # every table, and the last Lambda
        return {named(t, "-throttles") for t in res.dynamodb_tables} | {
            named(res.lambdas[-1], "-throttles")}
    return {named(a.name, "-p95-latency") for a in res.apis}  # slow deploy: 3.2x latency


@pytest.fixture(scope="module")
def week_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStore]:
    store = LocalStore(tmp_path_factory.mktemp("alarm-week") / "week.duckdb")
    for app in CATALOG.apps:
        for day in DAYS:
            frame = generate_day(app, day, SEED)
            store.insert_samples(frame[["namespace", "metric_name", "dims", "ts_ms", "value"]])
    yield store
    store.close()


def local_alarms(store: LocalStore, now: datetime | None = None) -> LocalAlarms:
    """The local alarms source over ``store``, its clock stopped at ``now`` when given."""
    metrics = LocalMetrics(store=store)
    return LocalAlarms(metrics=metrics) if now is None else LocalAlarms(metrics=metrics,
                                                                        clock=lambda: now)


@pytest.fixture(scope="module")
def evaluated(week_store: LocalStore) -> dict[str, tuple[AlarmConfig, dict[str, object]]]:
    backend = local_alarms(week_store)
    out = {}
    for app in CATALOG.apps:
        cfg = parse_alarms(app, CATALOG.path)
        out[app.id] = (cfg, backend.evaluate_alarms(cfg, now=DATA_END + timedelta(minutes=2)))
    return out


def test_the_fixed_week_holds_every_incident_kind_for_both_apps() -> None:
    for app in CATALOG.apps:
        incs = incidents(app)
        assert {i.kind for i in incs} == {"error_burst", "throttling", "slow_deploy"}
        assert all(ts(i.start_ms) >= DATA_START and ts(i.end_ms) < DATA_END for i in incs)


@pytest.mark.parametrize("app_id", ["ilikeyacut", "jobseek"])
@pytest.mark.parametrize("kind", ["error_burst", "throttling", "slow_deploy"])
def test_each_incident_trips_its_alarms_and_they_recover(evaluated, app_id: str,
                                                         kind: str) -> None:
    app = CATALOG.get(app_id)
    inc = next(i for i in incidents(app) if i.kind == kind)
    start, end = ts(inc.start_ms), ts(inc.end_ms)
    _, runs = evaluated[app_id]
    for name in expected_alarms(app, inc):
        transitions = runs[name][1].transitions  # type: ignore[index]
        fired = [t for t in transitions if t.new == ALARM and start < t.at <= end + SLACK]
        assert fired, f"{name} did not fire for the {kind} of {start:%F %H:%M}"
        assert "Threshold Crossed" in fired[0].reason
        recovered = [t for t in transitions if t.old == ALARM and t.new == OK
                     and fired[0].at < t.at <= end + 2 * SLACK]
        assert recovered, f"{name} did not go back to OK after {end:%F %H:%M}"


@pytest.mark.parametrize("app_id", ["ilikeyacut", "jobseek"])
def test_no_alarm_fires_outside_the_incidents(evaluated, app_id: str) -> None:
    app = CATALOG.get(app_id)
    windows = [(ts(i.start_ms), ts(i.end_ms) + SLACK) for i in incidents(app)]
    _, runs = evaluated[app_id]
    for name, (_, result) in runs.items():  # type: ignore[misc]
        for t in result.transitions:
            if t.new == ALARM:
                assert any(a < t.at <= b for a, b in windows), (name, t)


@pytest.mark.parametrize("app_id", ["ilikeyacut", "jobseek"])
def test_alarms_are_insufficient_data_for_their_first_n_periods(evaluated, app_id: str
                                                                ) -> None:
    cfg, runs = evaluated[app_id]
    for rule in cfg.rules:
        result = runs[rule.name][1]  # type: ignore[index]
        ev = rule.evaluation
        assert result.created_at == DATA_START
        assert result.states[:ev.evaluation_periods - 1] == \
            [INSUFFICIENT_DATA] * (ev.evaluation_periods - 1)
        first = result.transitions[0]
        assert first.old == INSUFFICIENT_DATA
        assert first.at == DATA_START + timedelta(seconds=ev.period * ev.evaluation_periods)


def test_during_an_incident_its_alarms_fire_and_sort_first(week_store: LocalStore) -> None:
    app = CATALOG.get("jobseek")
    inc = next(i for i in incidents(app) if i.kind == "slow_deploy")
    cfg = parse_alarms(app, CATALOG.path)
    now = ts(inc.end_ms) - timedelta(minutes=5)
    infos = sorted(local_alarms(week_store, now).alarm_infos(app, cfg), key=sort_key)
    firing = [i for i in infos if i.state == ALARM]
    assert {i.name for i in firing} == expected_alarms(app, inc)
    assert infos[:len(firing)] == firing
    for info in firing:
        assert ts(inc.start_ms) < info.since < now
        assert info.evaluation is not None and info.evaluation.threshold == app.slo_p95_ms
        assert info.console_url is None
    history = local_alarms(week_store, now).alarm_transitions(
        app, cfg, firing[0].name, start=ts(inc.start_ms), end=now)
    assert [t.new for t in history][-1] == ALARM and history[-1].at == firing[0].since


def test_metric_around_the_transition_shows_the_breach(week_store: LocalStore) -> None:
    app = CATALOG.get("ilikeyacut")
    inc = next(i for i in incidents(app) if i.kind == "error_burst")
    cfg = parse_alarms(app, CATALOG.path)
    now = ts(inc.end_ms)
    backend = local_alarms(week_store, now)
    info = next(i for i in backend.alarm_infos(app, cfg) if i.name.endswith("-5xx-rate"))
    assert info.state == ALARM
    series = backend.alarm_metric(info, start=info.since - timedelta(hours=2), end=now)
    before = series[series.index < ts(inc.start_ms)]
    during = series[series.index >= ts(inc.start_ms)]
    assert before.max() < 5.0 <= during.max()  # ~0.15 % normally, ~9 % during the burst


def test_incremental_evaluation_equals_a_fresh_one(week_store: LocalStore) -> None:
    app = CATALOG.get("ilikeyacut")
    cfg = parse_alarms(app, CATALOG.path)
    kept = local_alarms(week_store)
    for hours in (30, 55, 80, 119):  # the kept evaluation is extended step by step
        kept.evaluate_alarms(cfg, now=DATA_START + timedelta(hours=hours))
    extended = kept.evaluate_alarms(cfg, now=DATA_END)
    fresh = local_alarms(week_store).evaluate_alarms(cfg, now=DATA_END)
    assert extended.keys() == fresh.keys()
    for name in fresh:
        assert extended[name][1].transitions == fresh[name][1].transitions
        assert extended[name][1].states == fresh[name][1].states
    # An earlier moment than the kept one is evaluated afresh, not from the future.
    early = kept.evaluate_alarms(cfg, now=DATA_START + timedelta(hours=2))
    assert all(len(r.states) == 23 for _, r in early.values())  # 2 h - 1 min delay, 5-min


class CountingMetrics(LocalMetrics):
    """The local metrics source, noting the span of every read."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__(store=store)
        self.spans: list[timedelta] = []

    def get_metric_data(self, queries: Sequence[MetricQuery], *, start: datetime,
                        end: datetime) -> pd.DataFrame:
        self.spans.append(end - start)
        return super().get_metric_data(queries, start=start, end=end)


def test_a_restart_resumes_the_kept_evaluation_instead_of_reading_days_again(
        tmp_path_factory: pytest.TempPathFactory, week_store: LocalStore) -> None:
    # GIVEN an app's alarms evaluated once with a store to keep them in
    app = CATALOG.get("jobseek")
    cfg = parse_alarms(app, CATALOG.path)
    first = LocalAlarms(metrics=LocalMetrics(store=week_store), store=week_store)
    first.evaluate_alarms(cfg, now=DATA_END - timedelta(minutes=30))
    # WHEN a new process (a new source on the same store) asks 30 minutes later
    metrics = CountingMetrics(week_store)
    again = LocalAlarms(metrics=metrics, store=week_store).evaluate_alarms(cfg, now=DATA_END)
    # THEN it reads only the minutes since the checkpoint and answers like a fresh evaluation
    assert metrics.spans and max(metrics.spans) <= timedelta(minutes=31)
    fresh = local_alarms(week_store).evaluate_alarms(cfg, now=DATA_END)
    assert again.keys() == fresh.keys()
    for name in fresh:
        assert again[name][1].transitions == fresh[name][1].transitions
        assert again[name][1].states == fresh[name][1].states


def test_while_the_history_warms_up_an_app_not_reached_is_pending_at_once(
        week_store: LocalStore) -> None:
    # GIVEN a warm-up that has evaluated iLikeYaCut's alarms but not JobSeek's yet
    source = local_alarms(week_store, now=DATA_END)
    ily, js = (parse_alarms(CATALOG.get(a), CATALOG.path) for a in ("ilikeyacut", "jobseek"))
    with source.warming():
        source.warm_up(ily)
        # WHEN a page asks for both
        ready = source.evaluate_alarms(ily)
        # THEN the evaluated app answers and the other one says it is pending, without waiting
        with pytest.raises(AlarmHistoryPending):
            source.evaluate_alarms(js)
        assert source.history_pending
    assert ready and not source.history_pending
    assert source.evaluate_alarms(js)  # once the warm-up is over, a page evaluates it itself
