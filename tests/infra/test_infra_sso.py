"""Cognito user pool: only with ``sso=true``; TOTP MFA, closed sign-up, password policy, client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra._cdk import Synth, synth


@pytest.fixture(scope="module")
def off(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-sso-off")), {"sso": "false"})


@pytest.fixture(scope="module")
def on(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-sso-on")), {"sso": "true"})


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(
        Path(tmp_path_factory.mktemp("cdk-sso-custom")),
        {"sso": True, "sso_callback_url": "https://dash.example.com/oauth2callback",
         "sso_domain_prefix": "acme-analytics"},
    )


def test_no_cognito_unless_sso(off: Synth) -> None:
    assert not any(r["Type"].startswith("AWS::Cognito::") for r in off.tpl["Resources"].values())
    assert "SsoClientId" not in off.tpl["Outputs"]


def test_user_pool_requires_totp_and_is_closed(on: Synth) -> None:
    pool = on.props("AWS::Cognito::UserPool")
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"], "TOTP only, no SMS"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
    assert pool["DeletionProtection"] == "ACTIVE"


def test_password_policy(on: Synth) -> None:
    policy = on.props("AWS::Cognito::UserPool")["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    for flag in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"):
        assert policy[flag] is True, flag


def test_oidc_app_client_uses_authorization_code(on: Synth, custom: Synth) -> None:
    client = on.props("AWS::Cognito::UserPoolClient")
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert "openid" in client["AllowedOAuthScopes"]
    assert client["CallbackURLs"] == ["https://localhost:8501/oauth2callback"]
    assert client["GenerateSecret"] is True
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert custom.props("AWS::Cognito::UserPoolClient")["CallbackURLs"] == [
        "https://dash.example.com/oauth2callback"
    ]
    assert custom.props("AWS::Cognito::UserPoolDomain")["Domain"] == "acme-analytics"
    assert on.props("AWS::Cognito::UserPoolDomain")["Domain"] == "central-analytics-production"
    assert {"SsoIssuerUrl", "SsoClientId", "SsoDomain"} <= set(on.tpl["Outputs"])


def _container_secret_names(s: Synth) -> set[str]:
    task = s.props("AWS::ECS::TaskDefinition")
    return {sec["Name"] for c in task["ContainerDefinitions"] for sec in c.get("Secrets", [])}


def test_streamlit_auth_secret_only_with_sso(on: Synth, off: Synth) -> None:
    assert "STREAMLIT_SECRETS_TOML" in _container_secret_names(on)
    assert "STREAMLIT_SECRETS_TOML" not in _container_secret_names(off)
    assert len(on.resources("AWS::SecretsManager::Secret")) == 3
    assert len(off.resources("AWS::SecretsManager::Secret")) == 2
