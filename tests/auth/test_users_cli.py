"""``python -m analytics.cli.users``: add / passwd / remove / list with real bcrypt hashes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import yaml

from analytics.auth.credentials import load_file, parse_yaml
from analytics.cli.users import main
from analytics.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
PW1 = "first-Password-4711"
PW2 = "second-Password-0815"


def run(argv: list[str], stdin: str = "", env: dict | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, settings=load_settings(env or {}, secrets={}), stdin=io.StringIO(stdin),
                stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_round_trip(tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    assert run(["--file", str(f), "add", "Alice", "--role", "admin", "--name", "Alice A",
                "--password-stdin"], PW1 + "\n")[0] == 0
    assert run(["--file", str(f), "add", "bob", "--role", "viewer", "--apps", "jobseek",
                "--email", "bob@example.com", "--password-stdin"], PW2 + "\n")[0] == 0
    creds = load_file(f)
    assert bcrypt.checkpw(PW1.encode(), creds.get("alice").password_hash.encode())
    assert bcrypt.checkpw(PW2.encode(), creds.get("bob").password_hash.encode())
    assert (creds.get("bob").role, creds.get("bob").apps) == ("viewer", ("jobseek",))
    assert PW1 not in f.read_text() and PW2 not in f.read_text()

    code, out, _ = run(["--file", str(f), "list"])
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["username", "role", "apps", "name", "email"]
    assert rows[1][:3] == ["alice", "admin", "*"] and rows[2][:3] == ["bob", "viewer", "jobseek"]
    assert "$2b$" not in out

    assert run(["--file", str(f), "passwd", "bob", "--password-stdin"], PW1 + "\n")[0] == 0
    h = load_file(f).get("bob").password_hash.encode()
    assert bcrypt.checkpw(PW1.encode(), h) and not bcrypt.checkpw(PW2.encode(), h)

    assert run(["--file", str(f), "remove", "BOB"])[0] == 0
    assert list(load_file(f).users) == ["alice"]


def test_generate_prints_the_password_once_on_stderr(tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    code, out, err = run(["--file", str(f), "add", "carol", "--apps", "*", "--generate"])
    assert code == 0 and out == ""
    password = err.split("(shown once): ")[1].split()[0]
    assert bcrypt.checkpw(password.encode(), load_file(f).get("carol").password_hash.encode())


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["add", "dave"], PW1, "viewers need --apps"),
    (["add", "dave", "--apps", "nosuchapp", "--password-stdin"], PW1, "unknown app 'nosuchapp'"),
    (["add", "dave", "--apps", "jobseek", "--password-stdin"], "short", "shorter than 12"),
    (["add", "dave", "--apps", "jobseek", "--password-stdin"], "aaaaaaaaaaaaaaaa", "distinct"),
    (["add", "bad name", "--apps", "jobseek", "--password-stdin"], PW1, "username 'bad name'"),
    (["add", "root", "--role", "admin", "--password-stdin"], PW1, "exists"),
    (["passwd", "nobody", "--password-stdin"], PW1, "no user 'nobody'"),
    (["remove", "root"], "", "last admin"),
])
def test_errors_are_messages_not_tracebacks(tmp_path: Path, argv: list[str], stdin: str,
                                            message: str) -> None:
    f = tmp_path / "users.yaml"
    run(["--file", str(f), "add", "root", "--role", "admin", "--password-stdin"], PW1)
    before = f.read_text()
    code, _, err = run(["--file", str(f), *argv], stdin)
    assert code == 1 and err.startswith("error: ") and message in err
    assert f.read_text() == before


def test_env_mode_edits_the_secrets_manager_text(tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    run(["--file", str(f), "add", "root", "--role", "admin", "--password-stdin"], PW1)
    env = {"AUTH_CREDENTIALS_YAML": f.read_text()}
    code, out, _ = run(["--env", "add", "erin", "--apps", "jobseek", "--password-stdin"], PW2,
                       env)
    assert code == 0
    creds = parse_yaml(out, "stdout")
    assert sorted(creds.users) == ["erin", "root"]
    assert bcrypt.checkpw(PW2.encode(), creds.get("erin").password_hash.encode())
    assert yaml.safe_load(f.read_text())["usernames"].keys() == {"root"}  # the file is untouched


def test_default_path_follows_the_data_dir(tmp_path: Path) -> None:
    code, _, err = run(["add", "root", "--role", "admin", "--password-stdin"], PW1,
                       {"ANALYTICS_DATA_DIR": str(tmp_path)})
    assert code == 0 and (tmp_path / "credentials.yaml").is_file()
    assert f"saved {tmp_path / 'credentials.yaml'}" in err


def test_runs_as_a_module(tmp_path: Path) -> None:
    env = {**os.environ, "AUTH_CREDENTIALS_FILE": str(tmp_path / "u.yaml")}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics.cli.users",
            "add",
            "root",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=PW1 + "\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    p = subprocess.run([sys.executable, "-m", "analytics.cli.users", "list"], text=True,
                       capture_output=True, cwd=ROOT, env=env, timeout=60)
    assert p.stdout.splitlines()[1].split()[:2] == ["root", "admin"]


def test_the_users_file_setting_is_the_default_file(tmp_path: Path) -> None:
    # GIVEN AUTH_CREDENTIALS_FILE pointing outside the data dir
    target = tmp_path / "elsewhere" / "users.yaml"
    env = {"ANALYTICS_DATA_DIR": str(tmp_path / "data"), "AUTH_CREDENTIALS_FILE": str(target)}
    # WHEN a user is added without --file
    code, _, err = run(["add", "root", "--role", "admin", "--password-stdin"], PW1, env)
    # THEN that file, the one the dashboard reads, holds the user
    assert code == 0 and f"saved {target}" in err
    assert list(load_file(target).users) == ["root"]
    assert not (tmp_path / "data" / "credentials.yaml").exists()


def test_a_bad_setting_is_an_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an environment asking for the aws backend without a region
    monkeypatch.setenv("ANALYTICS_BACKEND", "aws")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    # WHEN the CLI reads its settings from the environment
    out, err = io.StringIO(), io.StringIO()
    code = main(["list"], stdin=io.StringIO(), stdout=out, stderr=err)
    # THEN it names the setting to fix instead of printing a traceback
    assert code == 1 and err.getvalue().startswith("error: ANALYTICS_BACKEND=aws needs AWS_REGION")
