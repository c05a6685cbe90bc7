"""SSO claim mapping as pure functions: no identity provider is reached."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from analytics.auth.config import cookie_key_problem
from analytics.auth.sso import (
    Grant,
    SsoConfigError,
    claim_groups,
    identity,
    map_claims,
    parse_sso,
)

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 40,
        "client_id": "c", "client_secret": "s",
        "server_metadata_url": "https://cognito-idp.us-east-1.amazonaws.com/pool/.well-known/"
                               "openid-configuration"}
ROLES = {
    "groups": {"dashboard-admins": {"role": "admin"},
               "jobseek-team": {"role": "viewer", "apps": ["jobseek"]},
               "cut-team": {"role": "viewer", "apps": ["ilikeyacut"]}},
    "emails": {"CTO@Example.com": {"role": "viewer", "apps": ["jobseek"]}},
    "domains": {"partner.example": {"role": "viewer", "apps": ["ilikeyacut"]}},
}
CFG = parse_sso({"auth": AUTH, "sso_roles": ROLES})


def claims(**kw: object) -> dict[str, object]:
    return {"is_logged_in": True, "email_verified": True, **kw}


def test_no_auth_section_means_no_sso() -> None:
    assert parse_sso({"sso_roles": ROLES}) is None
    assert CFG is not None and CFG.provider is None and CFG.groups_claim == "cognito:groups"


def test_named_provider_is_used_for_st_login() -> None:
    cfg = parse_sso({"auth": {"redirect_uri": "x", "cookie_secret": "y", "cognito": AUTH}})
    assert cfg.provider == "cognito"
    cfg = parse_sso({"auth": {**AUTH, "client_kwargs": {"scope": "openid email"}}})
    assert cfg.provider is None  # client_kwargs belongs to the unnamed provider
    with pytest.raises(SsoConfigError, match=r"no \[auth\.okta\] table"):
        parse_sso({"auth": {"cognito": AUTH}, "sso_roles": {"provider": "okta"}})


@pytest.mark.parametrize(("c", "grant"), [
    (claims(email="a@x.example", **{"cognito:groups": ["dashboard-admins"]}), Grant("admin", None)),
    (claims(email="b@x.example", **{"cognito:groups": ["jobseek-team", "cut-team"]}),
     Grant("viewer", frozenset({"jobseek", "ilikeyacut"}))),
    (claims(email="b@x.example", **{"cognito:groups": ["jobseek-team", "dashboard-admins"]}),
     Grant("admin", None)),
    # an email rule decides alone, even over an admin group; case-insensitive
    (claims(email="cto@EXAMPLE.com", **{"cognito:groups": ["dashboard-admins"]}),
     Grant("viewer", frozenset({"jobseek"}))),
    (claims(email="p@partner.example"), Grant("viewer", frozenset({"ilikeyacut"}))),
    (claims(email="p@partner.example", **{"cognito:groups": "jobseek-team"}),
     Grant("viewer", frozenset({"jobseek", "ilikeyacut"}))),
    (claims(email="nobody@x.example", **{"cognito:groups": ["other"]}), None),
    # unverified addresses get no email or domain rule (but groups still count)
    (claims(email="cto@example.com", email_verified=False), None),
    (claims(email="p@partner.example", email_verified="false",
            **{"cognito:groups": ["cut-team"]}), Grant("viewer", frozenset({"ilikeyacut"}))),
    ({"is_logged_in": False, "email": "cto@example.com", "email_verified": True}, None),
])
def test_map_claims(c: dict, grant: Grant | None) -> None:
    assert map_claims(c, CFG) == grant


def test_groups_claim_is_configurable_and_strings_are_split() -> None:
    cfg = parse_sso({"auth": AUTH, "sso_roles": {**ROLES, "groups_claim": "groups"}})
    assert map_claims(claims(email="z@x.example", groups="cut-team, jobseek-team"), cfg) == \
        Grant("viewer", frozenset({"jobseek", "ilikeyacut"}))
    assert claim_groups({"g": None}, "g") == []


def test_identity_prefers_the_email() -> None:
    assert identity({"email": " Carol@Example.COM ", "name": "Carol"}) == (
        "carol@example.com", "Carol")
    assert identity({"sub": "abc-123"}) == ("abc-123", "abc-123")


@pytest.mark.parametrize(("roles", "message"), [
    ({"groups": {"g": {"role": "owner"}}}, "unknown role 'owner'"),
    ({"groups": {"g": "admin"}}, "expected"),
    ({"emails": ["a@b"]}, "must be a table"),
])
def test_bad_rules_are_named(roles: dict, message: str) -> None:
    with pytest.raises(SsoConfigError, match=message):
        parse_sso({"auth": AUTH, "sso_roles": roles})


def test_the_secrets_example_is_valid_once_uncommented() -> None:
    """.streamlit/secrets.toml.example, with every commented table switched on, parses and maps."""
    text = (ROOT / ".streamlit" / "secrets.toml.example").read_text()
    data = tomllib.loads(re.sub(r'^# (?=(\[|[\w"@.-]+\s*=))', "", text, flags=re.M))
    cfg = parse_sso(data)
    assert cfg is not None and cfg.provider is None
    assert map_claims(claims(email="a@b.example", **{"cognito:groups": ["jobseek-team"]}),
                      cfg) == Grant("viewer", frozenset({"jobseek"}))
    assert cookie_key_problem(data["auth_cookie"]["key"])  # the placeholder is refused
