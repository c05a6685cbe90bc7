"""AppTest of the Alarms page, the Overview's firing counts and the sidebar badge."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from analytics.alarms import service as alarms
from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK
from analytics.core.catalog import parse_catalog
from analytics.sources import Runtime, set_runtime
from tests.alarms.conftest import ALWAYS_FIRING, NEVER_FIRING
from tests.conftest import ROOT
from tests.helpers import signed_in_app

PAGE = "app_pages/alarms.py"
FIRING = ":material/notifications_active:"  # the firing icon (a Material icon, not an emoji)


def table(at: AppTest, i: int = 0) -> list[dict[str, object]]:
    return at.dataframe[i].value.to_dict("records")


def test_firing_alarms_come_first_with_history_and_charts(firing_runtime: Runtime) -> None:
    at = signed_in_app(PAGE, query={"range": "7d"}).run()
    assert not at.exception
    assert at.title[0].value == "Alarms"
    rows = table(at)
    states = [str(r["State"]).split()[-1] for r in rows]
    assert states[0] == ALARM and rows[0]["Alarm"] == ALWAYS_FIRING
    order = [(ALARM, INSUFFICIENT_DATA, OK).index(s) for s in states]
    assert order == sorted(order)
    expected = alarms.alarm_states(firing_runtime, firing_runtime.catalog.apps).value
    assert [r["Alarm"] for r in rows] == [i.name for i in expected]
    firing = next(m for m in at.metric if "Firing" in m.label)
    assert int(firing.value) == states.count(ALARM) >= 1
    assert "d" in str(rows[0]["For"]) or "h" in str(rows[0]["For"])  # ~2 days of firing
    assert "Console" not in rows[0]  # no console link on the local backend
    # The first (firing) alarm is chosen: its metric and timeline are drawn.
    assert ALWAYS_FIRING in at.subheader[0].value
    assert len(at.get("plotly_chart")) == 2
    history = table(at, 1)
    assert [(h["From"], h["To"]) for h in history] == [(INSUFFICIENT_DATA, ALARM)]


def test_alarm_from_the_url_is_selected(firing_runtime: Runtime) -> None:
    at = signed_in_app(PAGE, query={"alarm": f"jobseek/{NEVER_FIRING}"}).run()
    assert not at.exception
    assert NEVER_FIRING in at.subheader[0].value
    assert any("OK" in md.value and "since" in md.value for md in at.markdown)


def test_alarms_of_apps_the_user_may_not_see_never_appear(firing_runtime: Runtime) -> None:
    at = signed_in_app(PAGE, apps=["ilikeyacut"], role="viewer", username="ily-viewer",
                       query={"app": "jobseek", "alarm": f"jobseek/{ALWAYS_FIRING}"}).run()
    assert not at.exception
    rows = table(at)
    assert rows and {r["App"] for r in rows} == {"ilikeyacut"}
    assert all("jobseek" not in str(r["Alarm"]) for r in rows)
    assert "jobseek" not in at.subheader[0].value


def test_overview_shows_each_apps_firing_count(firing_runtime: Runtime) -> None:
    counts = alarms.firing_counts(firing_runtime, firing_runtime.catalog.apps)
    at = signed_in_app().run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["iLikeYaCut", "JobSeek"]
    lines = [c.value for c in at.caption if "firing" in c.value]

    def caption(n: int) -> str:
        return (f":red-badge[{FIRING} {n} alarm{'' if n == 1 else 's'} firing]" if n
                else ":green-badge[No alarm firing]")

    assert lines == [caption(counts["ilikeyacut"]), f":red-badge[{FIRING} 1 alarm firing]"]


def _badge_script() -> None:
    import streamlit as st

    from analytics.core import access
    from analytics.sources import get_runtime
    from analytics.ui.alarm_widgets import sidebar_alarm_badge

    apps = st.session_state.get("apps")
    access.set_principal(access.Principal("u", "viewer", None if apps is None
                                          else frozenset(apps)))
    st.session_state["count"] = sidebar_alarm_badge(get_runtime())


@pytest.mark.parametrize(("apps", "shown"), [(["jobseek"], True), (["ilikeyacut"], None)])
def test_sidebar_badge_while_an_alarm_fires(firing_runtime: Runtime, apps: list[str],
                                            shown: bool | None) -> None:
    at = AppTest.from_function(_badge_script)
    at.session_state["apps"] = apps
    at.run()
    assert not at.exception
    count = at.session_state["count"]
    badges = [m.value for m in at.sidebar.markdown if "firing" in m.value]
    if shown:
        assert count == 1 and badges == [f":red-badge[{FIRING} 1 alarm firing]"]
    else:  # ilikeyacut fires only during a simulated incident
        assert badges == ([f":red-badge[{FIRING} {count} alarm{'' if count == 1 else 's'} firing]"]
                          if count else [])


@pytest.fixture
def broken_runtime(local_runtime: Runtime) -> Iterator[Runtime]:
    data = tomllib.loads((ROOT / "apps.toml").read_text(encoding="utf-8"))
    data["apps"]["jobseek"]["alarms"] = {"rules": [{"kind": "cpu"}]}
    rt = dataclasses.replace(local_runtime, catalog=parse_catalog(data, ROOT / "apps.toml"))
    rt.cache.reset()
    set_runtime(rt)
    yield rt
    set_runtime(None)


def test_a_malformed_alarm_definition_is_a_clear_error(broken_runtime: Runtime) -> None:
    at = signed_in_app(PAGE).run()
    assert not at.exception
    assert any("app 'jobseek', field 'alarms.rules[0].kind'" in e.value for e in at.error)


def test_stale_alarms_when_the_refresh_fails(firing_runtime: Runtime,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    at = signed_in_app(PAGE).run()
    for entry in firing_runtime.cache._entries.values():
        entry.expires_at = 0

    def boom(*a: object, **k: object) -> None:
        raise ConnectionError("DescribeAlarms throttled")

    monkeypatch.setattr(firing_runtime.sources.alarms, "alarm_infos", boom)
    at.run()
    assert not at.exception
    assert any("latest refresh failed" in w.value and "throttled" in w.value for w in at.warning)
    assert table(at)[0]["Alarm"] == ALWAYS_FIRING
