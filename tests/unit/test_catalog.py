from pathlib import Path

import pytest

from analytics.core.catalog import CatalogError, load_catalog

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_catalog_has_both_apps_with_resources() -> None:
    cat = load_catalog(ROOT / "apps.toml")
    assert cat.ids() == ["ilikeyacut", "jobseek"]
    jobseek = cat.get("jobseek")
    assert jobseek.cost_tag == "jobseek"
    assert [a.kind for a in jobseek.resources.apis] == ["rest", "http"]
    assert jobseek.resources.rds_instances == ("jobseek-postgres",)
    assert cat.get("ilikeyacut").resources.lambdas[0] == "ilikeyacut-generate-haircut"


@pytest.mark.parametrize(("body", "app", "field"), [
    ('[apps.x1]\nslo_p95_ms = "fast"\n', "x1", "slo_p95_ms"),
    ('[apps.x1]\n[apps.x1.resources]\nlambdas = "fn"\n', "x1", "resources.lambdas"),
    ('[apps.x1]\n[apps.x1.resources]\napis = [{id = "a", name = "n", kind = "soap"}]\n', "x1",
     "resources.apis[0].kind"),
    ('[apps.x1]\n[apps.x1.resources]\nqueues = []\n', "x1", "resources.queues"),
    ('[apps.x1]\ncolour = "red"\n', "x1", "colour"),
    ('[apps.x1]\nmonthly_budget_usd = -5\n', "x1", "monthly_budget_usd"),
    ('[apps.Bad_Id]\n', "Bad_Id", "id"),
])
def test_malformed_catalog_names_file_app_and_field(tmp_path: Path, body: str, app: str,
                                                   field: str) -> None:
    path = tmp_path / "apps.toml"
    path.write_text(body)
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    msg = str(err.value)
    assert str(path) in msg and f"app {app!r}" in msg and f"field {field!r}" in msg


def test_missing_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.toml")
    bad = tmp_path / "apps.toml"
    bad.write_text("[apps.x\n")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(bad)
    bad.write_text("title = 'no apps'\n")
    with pytest.raises(CatalogError, match="field 'apps'"):
        load_catalog(bad)
