"""Cookie settings and key checks, where users come from, and the local first run."""

from __future__ import annotations

import io
import re
import secrets
import stat
from pathlib import Path

import pytest
import yaml

from analytics.auth.config import (
    AuthConfigError,
    bootstrap_local_admin,
    check_cookie_key,
    cookie_key_problem,
    load_auth_config,
)
from analytics.auth.credentials import load_file, verify_password
from analytics.core.settings import AuthSettings
from tests.helpers import users_table

GOOD_KEY = secrets.token_urlsafe(48)
USERS = {"credentials": users_table({"bob": ("pw", "viewer", ["jobseek"])})}


def auth(env: dict[str, str]) -> AuthSettings:
    """The AUTH_* variables of ``env``, as ``settings.auth`` holds them."""
    return AuthSettings.model_validate(env)


@pytest.mark.parametrize("key", ["some_signature_key", "random_signature_key", "some_key",
                                 "changeme", "CHANGEME", "secret", "xxx",
                                 "REPLACE-ME-with-python-secrets-token_urlsafe-48",
                                 secrets.token_urlsafe(20), "a" * 64, "", "   ", None])
def test_weak_cookie_keys_are_refused_with_the_fix(key: str | None) -> None:
    assert cookie_key_problem(key)
    with pytest.raises(AuthConfigError, match=re.escape("secrets.token_urlsafe(48)")):
        check_cookie_key(key)


def test_a_random_48_byte_key_is_accepted() -> None:
    for _ in range(50):
        assert cookie_key_problem(secrets.token_urlsafe(48)) is None


def test_aws_refuses_a_default_key_from_env_or_secrets(tmp_path: Path) -> None:
    for env, sec in [({"AUTH_COOKIE_KEY": "some_signature_key"}, {}),
                     ({}, {"auth_cookie": {"key": "random_signature_key"}}),
                     ({"AUTH_COOKIE_KEY": "short"}, {"auth_cookie": {"key": GOOD_KEY}}),
                     ({}, {})]:
        with pytest.raises(AuthConfigError, match="Refusing to start"):
            load_auth_config("aws", data_dir=tmp_path, secrets_={**USERS, **sec}, auth=auth(env))


def test_cookie_settings_env_wins_and_expiry_defaults_to_eight_hours(tmp_path: Path) -> None:
    cfg = load_auth_config("aws", data_dir=tmp_path, secrets_={**USERS, "auth_cookie": {
        "name": "from_secrets", "key": secrets.token_urlsafe(48)}},
        auth=auth({"AUTH_COOKIE_KEY": GOOD_KEY}))
    assert (cfg.cookie.name, cfg.cookie.key, cfg.cookie.expiry_days) == (
        "from_secrets", GOOD_KEY, 8 / 24)
    cfg = load_auth_config("aws", data_dir=tmp_path, secrets_=USERS, auth=auth({
        "AUTH_COOKIE_KEY": GOOD_KEY, "AUTH_COOKIE_NAME": "x_y", "AUTH_COOKIE_EXPIRY_DAYS": "0.5"}))
    assert (cfg.cookie.name, cfg.cookie.expiry_days) == ("x_y", 0.5)


@pytest.mark.parametrize(("env", "message"), [
    ({"AUTH_COOKIE_EXPIRY_DAYS": "soon"}, "expected a number of days"),
    ({"AUTH_COOKIE_EXPIRY_DAYS": "-1"}, "more than 0"),
    ({"AUTH_COOKIE_EXPIRY_DAYS": "365"}, "at most 30"),
    ({"AUTH_COOKIE_NAME": "bad name;"}, "cookie name"),
])
def test_bad_cookie_settings(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        load_auth_config("local", data_dir=tmp_path, secrets_=USERS, auth=auth(env))


def test_local_backend_generates_and_keeps_a_private_cookie_key(tmp_path: Path) -> None:
    first = load_auth_config("local", data_dir=tmp_path, secrets_=USERS, auth=auth({}))
    second = load_auth_config("local", data_dir=tmp_path, secrets_=USERS, auth=auth({}))
    assert first.cookie.key == second.cookie.key and cookie_key_problem(first.cookie.key) is None
    assert stat.S_IMODE((tmp_path / "cookie_key").stat().st_mode) == 0o600


def test_local_backend_accepts_a_weak_key_with_a_warning(tmp_path: Path) -> None:
    cfg = load_auth_config(
        "local", data_dir=tmp_path, secrets_=USERS, auth=auth({"AUTH_COOKIE_KEY": "changeme"})
    )
    assert any("aws backend would refuse" in w for w in cfg.warnings)


def test_users_come_from_env_yaml_then_secrets_then_file(tmp_path: Path) -> None:
    env = {"AUTH_COOKIE_KEY": GOOD_KEY}
    file = tmp_path / "users.yaml"
    file.write_text(yaml.safe_dump(users_table({"from-file": ("pw", "viewer", ["jobseek"])})))
    env_yaml = yaml.safe_dump(users_table({"from-env": ("pw", "admin", None)}))
    cfg = load_auth_config(
        "aws",
        data_dir=tmp_path,
        secrets_=USERS,
        auth=auth({**env, "AUTH_CREDENTIALS_YAML": env_yaml, "AUTH_CREDENTIALS_FILE": str(file)}),
    )
    assert list(cfg.credentials.users) == ["from-env"]
    cfg = load_auth_config("aws", data_dir=tmp_path, secrets_=USERS,
                           auth=auth({**env, "AUTH_CREDENTIALS_FILE": str(file)}))
    assert list(cfg.credentials.users) == ["bob"]
    cfg = load_auth_config(
        "aws",
        data_dir=tmp_path,
        secrets_={},
        auth=auth({**env, "AUTH_CREDENTIALS_FILE": str(file)}),
    )
    assert list(cfg.credentials.users) == ["from-file"]
    with pytest.raises(AuthConfigError, match="no such file"):
        load_auth_config("aws", data_dir=tmp_path, secrets_={},
                         auth=auth({**env, "AUTH_CREDENTIALS_FILE": str(file) + "x"}))


def test_aws_without_users_or_sso_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match="Nobody can sign in"):
        load_auth_config(
            "aws", data_dir=tmp_path, secrets_={}, auth=auth({"AUTH_COOKIE_KEY": GOOD_KEY})
        )
    assert not (tmp_path / "credentials.yaml").exists()  # no admin is invented on aws


def test_plain_text_password_in_config_is_an_error(tmp_path: Path) -> None:
    bad = {"credentials": {"usernames": {"eve": {"password": "hunter2", "roles": ["admin"]}}}}
    with pytest.raises(AuthConfigError, match="'eve': 'password' must be a bcrypt hash"):
        load_auth_config("local", data_dir=tmp_path, secrets_=bad, auth=auth({}))


def test_local_first_run_creates_one_admin_with_a_random_password_printed_once(
        tmp_path: Path) -> None:
    out = io.StringIO()
    cfg = load_auth_config("local", data_dir=tmp_path, secrets_={}, auth=auth({}), out=out)
    text = out.getvalue()
    password = re.search(r"password: (\S+)", text).group(1)
    assert len(password) >= 24 and "username: admin" in text
    assert list(cfg.credentials.users) == ["admin"] and cfg.credentials.get("admin").role == "admin"
    stored = (tmp_path / "credentials.yaml").read_text()
    assert password not in stored
    assert verify_password(password, load_file(tmp_path / "credentials.yaml").get(
        "admin").password_hash)
    assert stat.S_IMODE((tmp_path / "credentials.yaml").stat().st_mode) == 0o600
    out2 = io.StringIO()
    load_auth_config("local", data_dir=tmp_path, secrets_={}, auth=auth({}), out=out2)
    assert out2.getvalue() == ""  # printed once only
    other = tmp_path / "second"
    bootstrap_local_admin(other / "credentials.yaml", out=(o3 := io.StringIO()))
    assert re.search(r"password: (\S+)", o3.getvalue()).group(1) != password  # never fixed

