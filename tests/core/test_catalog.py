from pathlib import Path

import pytest
from pydantic import ValidationError

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


def test_an_app_is_a_frozen_key_whatever_its_alarm_table() -> None:
    # GIVEN the shipped jobseek app and a copy that differs only in its raw alarms table
    app = load_catalog(ROOT / "apps.toml").get("jobseek")
    other = app.model_copy(update={"extra": {"alarms": {"defaults": False}}})
    # WHEN they are compared, hashed and changed
    # THEN they are one dict key, and a change is a new app, never an edit in place
    assert other == app and {app: 1}[other] == 1
    with pytest.raises(ValidationError):
        app.slo_p95_ms = 1.0  # type: ignore[misc]
    faster = app.model_copy(update={"slo_p95_ms": 150.0})
    assert faster != app and app.slo_p95_ms == 250.0


def test_defaults_follow_the_id_and_the_api_kind(tmp_path: Path) -> None:
    # GIVEN a minimal app with a REST and an HTTP API, no names and no stages
    path = tmp_path / "apps.toml"
    path.write_text('[apps.shop]\n[apps.shop.resources]\n'
                    'apis = [{id = "r1", name = "shop-rest", kind = "rest"}, '
                    '{id = "h1", name = "shop-http"}]\n')
    # WHEN it is loaded
    app = load_catalog(path).get("shop")
    # THEN names default to the id and each API gets its kind's default stage
    assert (app.display_name, app.cost_tag, app.namespace, app.alarm_prefix) == (
        "shop", "shop", "Application/shop", "shop-")
    assert [(a.kind, a.stage) for a in app.resources.apis] == [("rest", "prod"),
                                                               ("http", "$default")]


@pytest.mark.parametrize(("body", "message"), [
    ('[apps.x1]\nslo_p95_ms = "fast"\n', "expected a number, got 'fast'"),
    ('[apps.x1]\n[apps.x1.resources]\napis = [{id = "a", name = "n", kind = "soap"}]\n',
     "must be one of ('http', 'rest'), got 'soap'"),
    ('[apps.x1]\n[apps.x1.resources]\nqueues = []\n', "unknown resource kind; expected one of"),
    ('[apps.x1]\n[apps.x1.resources]\nlambdas = ["f", "f"]\n', "contains duplicates"),
    ('[apps.x1]\nextra = {}\n', "unknown key"),
])
def test_the_message_says_what_is_wrong(tmp_path: Path, body: str, message: str) -> None:
    # GIVEN a catalog with one mistake
    path = tmp_path / "apps.toml"
    path.write_text(body)
    # WHEN it is loaded
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    # THEN the message after the field says what is wrong in the catalog's words
    assert message in str(err.value)
