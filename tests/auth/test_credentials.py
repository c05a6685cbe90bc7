"""The users file: bcrypt only, validated with messages that name the user and the field."""

from __future__ import annotations

import stat
from pathlib import Path

import bcrypt
import pytest

from analytics.auth.credentials import (
    Credentials,
    CredentialsError,
    User,
    hash_password,
    load_file,
    parse_yaml,
    save_file,
    verify_password,
)
from tests.helpers import quick_hash


def test_hash_and_verify() -> None:
    h = hash_password("a long enough secret", rounds=4)
    assert h.startswith("$2b$04$") and verify_password("a long enough secret", h)
    assert not verify_password("a long enough secreT", h)
    assert not verify_password("anything", None)  # unknown user: still False, still bcrypt
    assert not verify_password("", h)
    assert not verify_password("x" * 73, h)


def test_passwords_bcrypt_would_truncate_are_refused() -> None:
    with pytest.raises(CredentialsError, match="72 bytes"):
        hash_password("é" * 37)


def test_parse_layout_roles_and_apps() -> None:
    text = f"""
usernames:
  Alice:
    name: Alice A
    password: "{quick_hash('pw-a')}"
    roles: [admin]
  bob:
    password: "{quick_hash('pw-b')}"
    roles: [viewer]
    apps: [jobseek]
  carol:
    password: "{quick_hash('pw-c')}"
    roles: viewer
    apps: "*"
  dan:
    password: "{quick_hash('pw-d')}"
"""
    creds = parse_yaml(text, "test")
    assert sorted(creds.users) == ["alice", "bob", "carol", "dan"]
    assert (creds.get("ALICE").role, creds.get("alice").apps) == ("admin", None)
    assert (creds.get("bob").role, creds.get("bob").apps) == ("viewer", ("jobseek",))
    assert creds.get("carol").apps is None
    assert (creds.get("dan").role, creds.get("dan").apps) == ("viewer", ())  # fails closed
    lib = creds.to_authenticator_dict()
    lib["usernames"]["bob"]["logged_in"] = True  # the library mutates its copy...
    assert "logged_in" not in creds.to_authenticator_dict()["usernames"]["bob"]  # ...not ours


@pytest.mark.parametrize(("entry", "message"), [
    ("password: hunter2", "user 'bob': 'password' must be a bcrypt hash"),
    ("password: HASH\n    roles: [root]", "user 'bob': unknown role 'root'"),
    ("password: HASH\n    apps: 3", "user 'bob': 'apps' must be a list"),
])
def test_bad_entries_name_the_user_and_field(entry: str, message: str) -> None:
    text = "usernames:\n  bob:\n    " + entry.replace("HASH", f'"{quick_hash("x")}"')
    with pytest.raises(CredentialsError, match=message.replace("[", r"\[")):
        parse_yaml(text, "users.yaml")


def test_not_yaml_and_duplicate_names() -> None:
    with pytest.raises(CredentialsError, match="not valid YAML"):
        parse_yaml("usernames: [", "users.yaml")
    h = quick_hash("x")
    with pytest.raises(CredentialsError, match="listed twice"):
        parse_yaml(f'usernames:\n  Bob: {{password: "{h}"}}\n  bob: {{password: "{h}"}}\n',
                   "users.yaml")


def test_save_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "credentials.yaml"
    creds = Credentials({"bob": User("bob", quick_hash("pw"), "Bob", "", "viewer",
                                     ("jobseek",))}, str(path))
    save_file(creds, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_file(path)
    assert again.users == creds.users
    assert bcrypt.checkpw(b"pw", again.get("bob").password_hash.encode())
    assert [p.name for p in path.parent.iterdir()] == ["credentials.yaml"]  # no temp file left


def test_the_librarys_own_keys_are_ignored_and_admins_default_to_every_app() -> None:
    # GIVEN a file streamlit-authenticator has written to, and an admin without 'apps'
    text = f"""
usernames:
  root:
    password: "{quick_hash('pw-r')}"
    roles: [admin]
    failed_login_attempts: 2
    logged_in: false
  eve:
    password: "{quick_hash('pw-e')}"
    roles: [admin]
    apps: [jobseek]
"""
    # WHEN it is parsed
    creds = parse_yaml(text, "users.yaml")
    # THEN the extra keys change nothing, and only an explicit list narrows an admin
    assert creds.get("root") == User("root", creds.get("root").password_hash, "root", "",
                                     "admin", None)
    assert creds.get("eve").apps == ("jobseek",)


@pytest.mark.parametrize(("entry", "message"), [
    ("password: 12345", "user 'bob': 'password' must be a bcrypt hash ($2b$...); set one with "
                        "`python -m analytics.cli.users passwd bob`"),
    ("name: Bob", "user 'bob': 'password' must be a bcrypt hash"),
    ("password: HASH\n    roles: 3", "user 'bob': 'roles' must be a list such as [viewer]"),
])
def test_a_missing_or_mistyped_field_is_named(entry: str, message: str) -> None:
    # GIVEN one user whose entry has a wrong or missing field
    text = "usernames:\n  bob:\n    " + entry.replace("HASH", f'"{quick_hash("x")}"')
    # WHEN it is parsed
    with pytest.raises(CredentialsError) as err:
        parse_yaml(text, "users.yaml")
    # THEN the message names the file, the user and the field
    assert str(err.value).startswith(f"users.yaml: {message}")
