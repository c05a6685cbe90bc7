"""AppTest: per-app scope against URL tampering, the aws cookie-key refusal, and SSO sign-in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.auth import sso
from analytics.auth.pages import PAGES, PageSpec, pages_for
from analytics.core.access import ANONYMOUS, Principal
from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.metrics.queries import MetricQuery
from analytics.sources import Runtime, build_runtime, set_runtime
from tests.auth.conftest import USERS, data_elements, home
from tests.conftest import frozen_clock
from tests.helpers import signed_in_app

NO_DATA = {"metric": 0, "dataframe": 0, "table": 0, "plotly_chart": 0}
ALERTS = {"error", "warning", "info", "exception", "toast"}


def _forbidden_tokens(rt: Runtime, app_id: str) -> set[str]:
    """Strings that only the other app's data would contain: its id, names and resources."""
    app = rt.catalog.get(app_id)
    res = app.resources
    tokens = {app.id, app.display_name, app.cost_tag, app.namespace}
    tokens |= {a.id for a in res.apis} | {a.name for a in res.apis}
    tokens |= set(res.lambdas) | set(res.dynamodb_tables)
    return {t.lower() for t in tokens if t}


def _rendered_text(node: object) -> str:
    """Every element's protobuf as text (labels, values, options, chart specs, frames), skipping
    alerts: a message naming the refused app is not a leak of its data."""
    out = []
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            out.append(_rendered_text(child))
    elif getattr(node, "type", None) not in ALERTS and hasattr(node, "proto"):
        out.append(str(node.proto))
    return "\n".join(out)


@pytest.mark.parametrize("spec", pages_for(Principal("v", "viewer", frozenset({"jobseek"}))),
                         ids=lambda s: s.url_path)
def test_a_jobseek_viewer_cannot_get_ilikeyacut_data_through_the_url(
        installed_runtime: Runtime, monkeypatch: pytest.MonkeyPatch, spec: PageSpec) -> None:
    asked: list[str] = []
    real = installed_runtime.sources.metrics.get_metric_data

    def spy(queries: Sequence[MetricQuery], start: datetime, end: datetime) -> pd.DataFrame:
        asked.extend(repr(q).lower() for q in queries)
        return real(queries, start, end)

    monkeypatch.setattr(installed_runtime.sources.metrics, "get_metric_data", spy)
    at = signed_in_app(spec.path, username="js-viewer", role="viewer", apps=["jobseek"],
                       query={"app": "ilikeyacut", "apps": "ilikeyacut"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.text_input][:2] != ["Username", "Password"]
    forbidden = _forbidden_tokens(installed_runtime, "ilikeyacut")
    queried = sorted({t for q in asked for t in forbidden if t in q})
    assert queried == [], f"{spec.path} queried {queried} for a jobseek viewer"
    text = _rendered_text(at._tree).lower()
    leaked = sorted(t for t in forbidden if t in text)
    assert leaked == [], f"{spec.path} shows {leaked} to a jobseek viewer"


def test_the_viewer_role_gets_the_pages_of_its_table() -> None:
    viewer = pages_for(Principal("v", "viewer", None))
    assert [p.path for p in viewer] == [p.path for p in PAGES if "viewer" in p.roles]
    assert pages_for(ANONYMOUS) == []


# -- the aws backend refuses weak cookie keys ---------------------------------------------------
@contextmanager
def installed_aws_runtime(data_dir: Path, **env: str) -> Iterator[Runtime]:
    settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1",
                              "ANALYTICS_DATA_DIR": str(data_dir), **env}, secrets={})
    clock = frozen_clock()
    rt = build_runtime(settings, cache=QueryCache(clock=clock), clock=clock)
    set_runtime(rt)
    try:
        yield rt
    finally:
        set_runtime(None)
        rt.stop()


@pytest.fixture
def aws_runtime(tmp_path: Path) -> Iterator[Runtime]:
    with installed_aws_runtime(tmp_path) as rt:
        yield rt


@pytest.mark.parametrize("key", ["some_signature_key", "random_signature_key", "changeme",
                                 "some_key", secrets.token_urlsafe(16), None])
def test_aws_backend_refuses_to_start_with_a_default_short_or_missing_cookie_key(
        aws_runtime: Runtime, key: str | None) -> None:
    at = home()
    if key is None:
        del at.secrets["auth_cookie"]["key"]
    else:
        at.secrets["auth_cookie"]["key"] = key
    at.run()
    assert not at.exception
    msg = at.error[0].value
    assert "Refusing to start" in msg and "secrets.token_urlsafe(48)" in msg
    assert len(at.text_input) == 0 and data_elements(at) == NO_DATA
    assert aws_runtime.cache.snapshot()["aws_calls"] == {}


def test_aws_backend_env_key_wins_over_a_good_secrets_key(tmp_path: Path) -> None:
    with installed_aws_runtime(tmp_path, AUTH_COOKIE_KEY="some_signature_key"):
        at = home().run()
    assert "Refusing to start" in at.error[0].value


def test_aws_backend_with_a_strong_key_shows_the_login_form(aws_runtime: Runtime) -> None:
    at = home().run()
    assert not at.exception and len(at.error) == 0
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert aws_runtime.cache.snapshot()["aws_calls"] == {}


# -- SSO ----------------------------------------------------------------------------------------
FAKE_AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback",
             "cookie_secret": secrets.token_urlsafe(32), "client_id": "fake-client",
             "client_secret": "fake-secret",
             "server_metadata_url": "https://idp.invalid/.well-known/openid-configuration"}
ROLES_MAP = {"groups_claim": "cognito:groups",
             "groups": {"jobseek-team": {"role": "viewer", "apps": ["jobseek"]},
                        "dashboard-admins": {"role": "admin", "apps": ["*"]}}}


def _sso_home(claims: dict | None = None) -> AppTest:
    at = home(auth=FAKE_AUTH, sso_roles=ROLES_MAP)
    if claims is not None:
        at.user = claims
    return at


def test_sso_button_is_offered_when_auth_is_configured(
        installed_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sso, "authlib_available", lambda: True)
    at = _sso_home().run()
    assert not at.exception
    button = at.button(key="sso_login")
    assert button.label == "Sign in with SSO" and not button.disabled
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_sso_button_is_disabled_with_a_reason_without_authlib(
        installed_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sso, "authlib_available", lambda: False)
    at = _sso_home().run()
    assert at.button(key="sso_login").disabled
    assert "Authlib" in at.warning[0].value


def test_no_sso_button_without_an_auth_section(installed_runtime: Runtime) -> None:
    at = home().run()
    assert "sso_login" not in [b.key for b in at.button]


def test_sso_identity_is_mapped_to_a_role_and_apps(installed_runtime: Runtime) -> None:
    at = _sso_home({"is_logged_in": True, "email": "Carol@Example.com", "email_verified": True,
                    "name": "Carol", "cognito:groups": ["jobseek-team"]})
    at.query_params["app"] = "ilikeyacut"
    at.run()
    assert not at.exception
    p = at.session_state["_auth_principal"]
    assert (p.username, p.role, p.apps) == ("carol@example.com", "viewer", frozenset({"jobseek"}))
    assert [s.value for s in at.subheader] == ["JobSeek"]


def test_an_sso_identity_without_a_rule_gets_nothing(installed_runtime: Runtime) -> None:
    at = _sso_home({"is_logged_in": True, "email": "eve@elsewhere.example",
                    "email_verified": True, "cognito:groups": ["other"]}).run()
    assert not at.exception
    assert at.session_state["_auth_principal"] == ANONYMOUS
    assert "no [sso_roles] rule" in at.warning[0].value
    assert data_elements(at) == NO_DATA


def test_a_logged_in_st_user_is_ignored_when_sso_is_not_configured(
        installed_runtime: Runtime) -> None:
    at = home()
    at.user = {"is_logged_in": True, "email": "admin@example.com", "cognito:groups":
               ["dashboard-admins"]}
    at.run()
    assert at.session_state["_auth_principal"] == ANONYMOUS
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_sso_sign_out_logs_out_of_streamlit_too(installed_runtime: Runtime) -> None:
    at = _sso_home({"is_logged_in": True, "email": "dan@example.com", "email_verified": True,
                    "cognito:groups": ["dashboard-admins"]}).run()
    assert at.session_state["_auth_principal"].role == "admin"
    at.button(key="auth_sign_out").click().run()
    assert not at.exception
    assert at.user == {"is_logged_in": False}
    at.run()
    assert at.session_state["_auth_principal"] == ANONYMOUS
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_users_from_the_table_still_sign_in_next_to_sso(installed_runtime: Runtime) -> None:
    from tests.auth.conftest import ALICE_PW, submit

    at = submit(_sso_home().run(), "alice", ALICE_PW)
    assert at.session_state["_auth_principal"].username == "alice"
    assert USERS["alice"][1] == at.session_state["_auth_principal"].role
