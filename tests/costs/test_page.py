"""AppTest of the Costs page through Home.py on the local backend."""

from __future__ import annotations

import pytest

from analytics.sources import Runtime
from tests.helpers import signed_in_app

PAGE = "app_pages/costs.py"


def _texts(at) -> str:  # every value the page shows: metrics, tables, captions, messages
    parts = [f"{m.label} {m.value}" for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    parts += [e.value for kind in (at.caption, at.info, at.warning, at.error, at.subheader)
              for e in kind]
    parts += [b.proto.label + " " + b.proto.url for b in at.get("download_button")]
    return "\n".join(parts)


@pytest.mark.parametrize("app", ["ilikeyacut", "jobseek"])
def test_page_renders_for_each_app(installed_runtime: Runtime, app: str) -> None:
    at = signed_in_app(PAGE, query={"app": app}).run()
    assert not at.exception
    assert at.title[0].value == "Costs"
    name = installed_runtime.catalog.get(app).display_name
    labels = [m.label for m in at.metric]
    assert f"{name}: month to date" in labels and "Total: month to date" in labels
    mtd = next(m for m in at.metric if m.label == f"{name}: month to date")
    total = next(m for m in at.metric if m.label == "Total: month to date")
    assert mtd.value == total.value  # one app picked: the total is that app
    assert len(at.get("plotly_chart")) >= 5
    names = [b.proto.label for b in at.get("download_button")]
    assert "Download the report (HTML)" in names
    assert sum(n.startswith("CSV: ") for n in names) >= 8  # every table and chart
    assert "Backend: **local" in at.caption[-1].value


def test_all_apps_for_an_admin_shows_untagged_and_local_own_spend(
        installed_runtime: Runtime) -> None:
    at = signed_in_app(PAGE).run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert "Untagged share" in labels and labels["Untagged share"].endswith("%")
    assert labels["Projected this month"] == "$0.00"
    assert any("backend is local" in c.value for c in at.caption)
    assert any("send ActiveUsers through the ingest API" in i.value for i in at.info) or \
        any("cost_per_mau" in df.value.columns for df in at.dataframe)


def test_jobseek_viewer_sees_no_ilikeyacut_cost(installed_runtime: Runtime) -> None:
    at = signed_in_app(PAGE, apps=["jobseek"], username="js-viewer", role="viewer",
                       query={"app": "ilikeyacut"}).run()
    assert not at.exception
    shown = _texts(at)
    assert "JobSeek" in shown
    for word in ("ilikeyacut", "iLikeYaCut", "untagged", "Untagged"):
        assert word not in shown, word
    for chart in at.get("plotly_chart"):
        assert "ilikeyacut" not in chart.proto.spec.lower()
