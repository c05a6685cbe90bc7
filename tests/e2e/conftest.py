"""A real ``streamlit run Home.py`` and Debian's chromium driven by Playwright.

The server is started fresh per module with its own data dir, users (bcrypt hashes made here)
and a random cookie key, all through the environment, as the ECS task receives them. Locally the
browser tests skip with a reason when /usr/bin/chromium is missing; with ``CI`` set they fail
instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    passwords: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot be skipped in CI: {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("e2e")
    passwords = {"alice": secrets.token_urlsafe(16), "bob": secrets.token_urlsafe(16)}
    users = {"usernames": {
        "alice": {"name": "Alice Admin", "roles": ["admin"], "apps": ["*"]},
        "bob": {"name": "Bob Viewer", "roles": ["viewer"], "apps": ["jobseek"]},
    }}
    for name, pw in passwords.items():
        users["usernames"][name]["password"] = bcrypt.hashpw(
            pw.encode(), bcrypt.gensalt(4)).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTH_"))}
    env.update({
        "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": str(tmp / "data"),
        "SIMULATOR_HISTORY_DAYS": "1", "SIMULATOR_LIVE": "false", "INGEST_ENABLED": "false",
        "AUTH_CREDENTIALS_YAML": yaml.safe_dump(users),
        "AUTH_COOKIE_KEY": secrets.token_urlsafe(48), "AUTH_COOKIE_NAME": "ca_e2e",
    })
    port = _free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log, timeout=60)
        yield Server(url, log, passwords)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
