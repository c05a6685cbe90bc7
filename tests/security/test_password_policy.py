"""Passwords people choose are checked for guessability, not only length, and the CLI says why.

Before, ``users add`` accepted ``password1234`` and ``adminpassword`` (12+ characters, 5+
distinct: the only rules).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from analytics.auth.credentials import CredentialsError, check_password_strength, load_file
from analytics.cli.users import main
from analytics.core.settings import load_settings


def _add(tmp_path: Path, *args: str, password: str) -> tuple[int, str]:
    err = io.StringIO()
    code = main(["--file", str(tmp_path / "users.yaml"), "add", *args, "--password-stdin"],
                settings=load_settings({}, secrets={}), stdin=io.StringIO(password + "\n"),
                stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


@pytest.mark.parametrize(("args", "password", "why"), [
    (["carol", "--role", "admin"], "password1234", "very common password"),
    (["carol", "--role", "admin"], "adminpassword", "similar to a commonly used password"),
    (["carol", "--role", "viewer", "--apps", "jobseek"], "carol-is-great-2026", "username"),
    (["carol", "--role", "viewer", "--apps", "jobseek"], "qwertyuiop123", "needs 3"),
])
def test_weak_passwords_are_refused_with_the_reason(tmp_path: Path, args: list[str],
                                                    password: str, why: str) -> None:
    code, err = _add(tmp_path, *args, password=password)
    assert code == 1 and why in err
    assert not (tmp_path / "users.yaml").exists()  # nothing was written


def test_admins_need_a_stronger_password_than_viewers() -> None:
    # a password that is fine for a viewer (score 3) but not for an admin (score 4)
    candidates = ["Tigerlily-1986", "bluefish-7-cups", "Saturday-Piano"]
    from zxcvbn import zxcvbn

    three = next(p for p in candidates if zxcvbn(p)["score"] == 3)
    check_password_strength(three, username="dave", role="viewer")
    with pytest.raises(CredentialsError, match="needs 4"):
        check_password_strength(three, username="dave", role="admin")


def test_a_strong_password_is_stored_as_a_hash(tmp_path: Path) -> None:
    code, _ = _add(tmp_path, "carol", "--role", "admin", password="vivid-Orbit-harbor-93")
    assert code == 0
    user = load_file(tmp_path / "users.yaml").get("carol")
    assert user is not None and user.password_hash.startswith("$2b$")
