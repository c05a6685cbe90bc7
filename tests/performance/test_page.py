"""AppTest of the Performance page on the local backend (through the signed-in Home.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pytest
import streamlit

from analytics.performance import page as perf_page
from tests.helpers import signed_in_app
from tests.performance.conftest import spec_points

PAGE = "app_pages/performance.py"


def _run(**query: str) -> Any:
    at = signed_in_app(PAGE, query=query).run()
    assert not at.exception, at.exception
    return at


def _charts(at: Any) -> list[Any]:
    return list(at.get("plotly_chart"))


def _is_bar(element: Any) -> bool:
    return all(t.get("type") == "bar" for t in json.loads(element.proto.spec)["data"])


def _qp(at: Any, key: str) -> str | None:
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize("app_id", ["ilikeyacut", "jobseek"])
def test_every_section_of_each_simulated_app(installed_runtime, app_id: str) -> None:
    at = _run(app=app_id, range="24h")
    app = installed_runtime.catalog.get(app_id)
    r = app.resources
    assert at.title[0].value == f"Performance · {app.display_name}"
    labels = [e.label for e in at.expander]
    expected = [("API Gateway", len(r.apis)), ("Lambda", len(r.lambdas)),
                ("DynamoDB", len(r.dynamodb_tables)), ("RDS", len(r.rds_instances)),
                ("S3", len(r.s3_buckets))]
    assert [lab.split(" · ")[:2] for lab in labels] == [[t, str(n)] for t, n in expected if n]
    infos = [i.value for i in at.info]
    if app_id == "ilikeyacut":  # no RDS: one line naming the key to fill, no empty chart
        assert infos == [f"**RDS** — {perf_page.empty_message(app, 'rds', False)}"]
        assert "`rds_instances`" in infos[0]
    else:
        assert infos == []
    n_resources = sum(n for _, n in expected)
    charts = _charts(at)
    assert len(charts) == n_resources + 1  # one figure per resource + the cold-start bars
    assert sum(_is_bar(c) for c in charts) == 1
    cold = at.dataframe[0].value
    assert list(cold["function"]) == list(r.lambdas)
    assert (cold["cold_starts"] > 0).all() and (cold["invocations"] > cold["cold_starts"]).all()
    assert _qp(at, "open") == ",".join(k for k, (_, n) in zip(perf_page.SECTIONS, expected,
                                                              strict=True) if n)
    assert any(c.value.startswith("Data as of") for c in at.caption)
    assert "Backend: **local" in at.caption[-1].value


def test_compare_toggle_lives_in_the_url_and_overlays_the_previous_window(
        installed_runtime) -> None:
    at = _run(app="jobseek", range="12h", compare="1", open="api")
    assert at.toggle[0].value is True
    assert any("dashed lines: the previous window" in c.value for c in at.caption)
    spec = json.loads(_charts(at)[0].proto.spec)
    prev = [t for t in spec["data"] if t["name"].endswith("(previous)")]
    assert {t["name"] for t in prev} >= {"Requests (previous)", "p95 (previous)"}
    assert all(t["line"]["dash"] == "dash" for t in prev)
    assert any(t["line"]["dash"] == "solid" and t["name"] == "p95" for t in spec["data"])
    at.toggle[0].set_value(False).run()
    assert not at.exception
    assert _qp(at, "compare") is None
    names = {t["name"] for t in json.loads(_charts(at)[0].proto.spec)["data"]}
    assert not any(n.endswith("(previous)") for n in names)


def test_open_sections_come_from_the_url_and_closed_ones_draw_nothing(installed_runtime) -> None:
    at = _run(app="jobseek", range="3h", open="api,bogus")
    assert [e.label.split(" · ")[0] for e in at.expander] == [
        "API Gateway", "Lambda", "DynamoDB", "RDS", "S3"]
    assert len(_charts(at)) == 2  # the two APIs; Lambda closed: no cold-start query either
    assert len(at.dataframe) == 0
    calls = installed_runtime.cache.snapshot()["upstream_calls"]
    # one metrics call for the page; no "logs" (cold starts) since Lambda is closed. The sidebar's
    # alarm badge reads alarms and the login gate reads the revoked-sessions list; neither is this
    # page's work.
    assert calls.get("metrics") == 1 and "logs" not in calls
    assert set(calls) <= {"metrics", "alarms", "sessions"}
    assert _qp(at, "open") == "api"
    at.session_state["section_rds"] = True  # the user opens RDS
    at.run()
    assert not at.exception and _qp(at, "open") == "api,rds"
    assert len(_charts(at)) == 3


def test_csv_downloads_are_exactly_the_data_drawn(installed_runtime,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[tuple[str, Any]] = []
    real = streamlit.download_button

    def record(label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        recorded.append((label, data))
        return real(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", record)
    at = _run(app="ilikeyacut", range="24h", compare="1")
    figures = [c for c in _charts(at) if not _is_bar(c)]
    chart_csvs = [d for label, d in recorded if label == "CSV of this chart"]
    assert len(figures) == len(chart_csvs) == 1 + 3 + 2 + 2  # API, functions, tables, buckets
    for fig, data in zip(figures, chart_csvs, strict=True):
        csv = pd.read_csv(io.BytesIO(data()))
        assert list(csv.columns) == ["panel", "series", "window", "timestamp", "value"]
        from_csv = pd.DataFrame({
            "name": [s + (" (previous)" if w == "previous" else "")
                     for s, w in zip(csv["series"], csv["window"], strict=True)],
            "timestamp": pd.to_datetime(csv["timestamp"], utc=True), "value": csv["value"]})
        drawn = spec_points(fig)
        key = ["name", "timestamp", "value"]
        a = from_csv.sort_values(key, ignore_index=True)
        b = drawn.sort_values(key, ignore_index=True)
        assert len(a) == len(b) > 0
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12,
                                      check_dtype=False)
    cold_csv = next(d for label, d in recorded if label == "CSV of cold starts")
    table = pd.read_csv(io.BytesIO(cold_csv()))
    shown = at.dataframe[0].value
    pd.testing.assert_frame_equal(table[list(shown.columns)], shown.reset_index(drop=True),
                                  check_dtype=False)


def test_url_cannot_open_an_app_outside_the_users_apps(installed_runtime) -> None:
    at = signed_in_app(PAGE, apps=["jobseek"], username="js", role="viewer",
                       query={"app": "ilikeyacut"}).run()
    assert not at.exception
    assert at.title[0].value == "Performance · JobSeek"


def test_stale_banner_keeps_the_charts_when_a_refresh_fails(installed_runtime,
                                                            monkeypatch) -> None:
    at = _run(app="jobseek", open="api")
    for entry in installed_runtime.cache._entries.values():
        entry.expires_at = 0

    def boom(*a: Any, **k: Any) -> Any:
        raise ConnectionError("CloudWatch endpoint timed out")

    monkeypatch.setattr(installed_runtime.sources.metrics, "get_metric_data", boom)
    at.run()
    assert not at.exception
    assert any("latest refresh failed" in w.value and "timed out" in w.value
               for w in at.warning)
    assert len(_charts(at)) == 2


def test_nothing_cached_and_backend_down_is_a_message_not_a_traceback(installed_runtime,
                                                                      monkeypatch) -> None:
    def boom(*a: Any, **k: Any) -> Any:
        raise ConnectionError("no route to CloudWatch")

    monkeypatch.setattr(installed_runtime.sources.metrics, "get_metric_data", boom)
    at = _run(app="ilikeyacut")
    assert any("did not answer" in e.value and "no route" in e.value for e in at.error)
    assert len(at.expander) == 0


def test_cold_start_failure_stays_inside_the_lambda_section(installed_runtime,
                                                           monkeypatch) -> None:
    def slow(*a: Any, **k: Any) -> Any:
        raise TimeoutError("Logs Insights did not finish within 20 s")

    monkeypatch.setattr(installed_runtime.sources.performance, "cold_starts", slow)
    at = _run(app="jobseek", open="lambda")
    assert any("Cold starts are unavailable" in w.value and "within 20 s" in w.value
               for w in at.warning)
    assert len(_charts(at)) == 4  # the four functions' charts are still drawn
