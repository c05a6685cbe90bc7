"""Settings: the environment wins over secrets.toml, and a bad value is named with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.core.settings import ROOT, SettingsError, load_settings


def test_defaults_without_any_variable() -> None:
    # GIVEN no variable and no secrets.toml
    # WHEN the settings are loaded
    settings = load_settings({}, secrets={})
    # THEN every setting has its documented default
    assert (settings.backend, settings.data_dir, settings.duckdb_path) == (
        "local", ROOT / ".data", ROOT / ".data" / "analytics.duckdb")
    assert (settings.dashboard_port, settings.ingest_log_level, settings.ingest_token) == (
        8501, "WARNING", None)
    assert settings.auth.cookie_key is None and settings.auth.credentials_file is None


def test_the_environment_wins_over_the_analytics_table() -> None:
    # GIVEN a variable in both places, and others only in secrets.toml (typed by TOML)
    secrets = {"analytics": {"SIMULATOR_SEED": 3, "SIMULATOR_LIVE": False, "INGEST_PORT": 9000,
                             "DASHBOARD_PORT": 8600}}
    # WHEN the settings are loaded
    settings = load_settings({"SIMULATOR_SEED": "11", "ANALYTICS_DATA_DIR": "/srv/ca"},
                             secrets=secrets)
    # THEN the environment's value is used, the table fills the rest, derived paths follow
    assert (settings.simulator_seed, settings.simulator_live, settings.ingest_port) == (
        11, False, 9000)
    assert settings.dashboard_port == 8600
    assert settings.duckdb_path == Path("/srv/ca/analytics.duckdb")
    assert settings.from_env == {"SIMULATOR_SEED", "ANALYTICS_DATA_DIR"}


def test_an_empty_variable_counts_as_unset() -> None:
    # GIVEN variables exported empty, as a container template often leaves them
    env = {"AWS_REGION": "", "AWS_DEFAULT_REGION": "eu-west-1", "ANALYTICS_BACKEND": " ",
           "AWS_ACCESS_KEY_ID": "AKIA-test", "INGEST_TOKEN": "", "AUTH_COOKIE_KEY": ""}
    # WHEN the settings are loaded
    settings = load_settings(env, secrets={"analytics": {"INGEST_TOKEN": "from-secrets"}})
    # THEN the next source decides: the default region, the aws backend, the secrets' token
    assert (settings.backend, settings.region) == ("aws", "eu-west-1")
    assert settings.ingest_token is not None
    assert settings.ingest_token.get_secret_value() == "from-secrets"
    assert settings.auth.cookie_key is None


def test_secrets_are_kept_out_of_the_repr() -> None:
    # GIVEN a token, a cookie key and users YAML from the environment
    env = {"INGEST_TOKEN": "tok-123", "AUTH_COOKIE_KEY": "key-456",
           "AUTH_CREDENTIALS_YAML": "usernames: {}", "AUTH_CREDENTIALS_FILE": "/etc/users.yaml"}
    # WHEN the settings are loaded and printed
    settings = load_settings(env, secrets={"analytics": {"AUTH_COOKIE_NAME": "ca"}})
    text = repr(settings)
    # THEN the values are there for the code, and not in the text
    assert settings.auth.cookie_key is not None
    assert settings.auth.cookie_key.get_secret_value() == "key-456"
    assert (settings.auth.cookie_name, settings.auth.credentials_file) == (
        "ca", Path("/etc/users.yaml"))
    assert "tok-123" not in text and "key-456" not in text and "usernames" not in text


def test_the_ingest_token_may_sit_at_the_top_level_of_secrets_toml() -> None:
    # GIVEN the token only at the top level of secrets.toml
    secrets = {"INGEST_TOKEN": " top-level "}
    # WHEN the settings are loaded
    settings = load_settings({}, secrets=secrets)
    # THEN it is the token, trimmed, and not one the environment set
    assert settings.ingest_token is not None
    assert settings.ingest_token.get_secret_value() == "top-level"
    assert "INGEST_TOKEN" not in settings.from_env


@pytest.mark.parametrize(("env", "message"), [
    ({"SIMULATOR_LIVE": "maybe"}, "SIMULATOR_LIVE='maybe': expected true or false"),
    ({"INGEST_PORT": "80a"}, "INGEST_PORT='80a': expected an integer"),
    ({"DASHBOARD_PORT": "web"}, "DASHBOARD_PORT='web': expected an integer"),
    ({"AWS_READ_TIMEOUT": "slow"}, "AWS_READ_TIMEOUT='slow': expected a number"),
    ({"ANALYTICS_BACKEND": "gcp"}, "ANALYTICS_BACKEND='gcp': expected one of ('local', 'aws')"),
    ({"INGEST_LOG_LEVEL": "loud"}, "INGEST_LOG_LEVEL='loud': expected one of ('DEBUG', "),
    ({"ANALYTICS_BACKEND": "aws"}, "ANALYTICS_BACKEND=aws needs AWS_REGION"),
])
def test_a_bad_value_names_the_variable(env: dict[str, str], message: str) -> None:
    # GIVEN one malformed variable
    # WHEN the settings are loaded
    with pytest.raises(SettingsError) as err:
        load_settings(env, secrets={})
    # THEN the message starts with the variable, its value and what was expected
    assert str(err.value).startswith(message)


def test_the_log_level_is_case_insensitive() -> None:
    # GIVEN a lower-case level
    # WHEN the settings are loaded
    settings = load_settings({"INGEST_LOG_LEVEL": "info"}, secrets={})
    # THEN it is the name logging knows
    assert settings.ingest_log_level == "INFO"
