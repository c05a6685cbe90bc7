"""Config parsing, catalog parsing, and the synth tooling (cdk.json, requirements, npm CLI)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from central_analytics.catalog import CatalogError, load_catalog, parse_catalog
from central_analytics.config import ConfigError, load_config
from tests.infra._cdk import CDK_DIR, REPO


def test_config_defaults() -> None:
    cfg = load_config({})
    assert cfg.region == "us-east-1" and cfg.is_billing_region
    assert (cfg.environment, cfg.cost_center) == ("production", "analytics")
    assert cfg.high_cost_threshold == 1000
    assert cfg.certificate_arn is None and cfg.sso is False
    assert cfg.sso_callback_url == "https://localhost:8501/oauth2callback"


def test_config_parses_cli_strings() -> None:
    cfg = load_config({"sso": "true", "high_cost_threshold": "250.5", "region": "eu-west-1",
                       "certificate_arn": ""})
    assert cfg.sso is True and cfg.high_cost_threshold == 250.5
    assert cfg.region == "eu-west-1" and not cfg.is_billing_region
    assert cfg.certificate_arn is None
    assert load_config({"region": ""}).region == "us-east-1"


@pytest.mark.parametrize(
    "ctx",
    [
        {"sso": "maybe"},
        {"high_cost_threshold": "lots"},
        {"high_cost_threshold": "0"},
        {"certificate_arn": "not-an-arn"},
        {"sso_callback_url": "http://example.com/cb"},
        {"log_retention_days": "31"},
        {"ingest_rate_limit": "-1"},
    ],
)
def test_config_rejects_bad_values(ctx: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_config(ctx)


def test_catalog_matches_apps_toml() -> None:
    apps = load_catalog(REPO / "apps.toml")
    assert [a.id for a in apps] == sorted(a.id for a in apps)
    assert all(a.alarm_prefix for a in apps)


def test_catalog_rejects_bad_api_kind() -> None:
    # The stack validates apps.toml with the dashboard's own rules and messages.
    with pytest.raises(CatalogError, match=r"app 'demo', field 'resources.apis\[0\].kind'"):
        parse_catalog('[apps.demo]\n[apps.demo.resources]\n'
                      'apis = [{id="a", name="b", kind="soap"}]\n')
    with pytest.raises(CatalogError):
        parse_catalog("title = 'no apps'\n")


def test_cdk_json_runs_the_python_app() -> None:
    cfg = json.loads((CDK_DIR / "cdk.json").read_text())
    assert cfg["app"].endswith("python app.py")
    interpreter = (CDK_DIR / cfg["app"].split()[0]).resolve()
    assert interpreter == (REPO / ".venv" / "bin" / "python").resolve()


def test_cdk_requirements_are_pinned() -> None:
    reqs = (CDK_DIR / "requirements.txt").read_text()
    assert re.search(r"^aws-cdk-lib==2\.275\.0$", reqs, re.M)
    assert re.search(r"^cdk-nag==3\.0\.2$", reqs, re.M)
    assert re.search(r"^constructs", reqs, re.M)


def test_cdk_cli_is_pinned_exactly() -> None:
    pkg = json.loads((REPO / "package.json").read_text())
    version = pkg["devDependencies"]["aws-cdk"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "exact version, no ^ or ~"
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == version


def test_cdk_cli_synth_offline(tmp_path: Path) -> None:
    """``cd infra/cdk && npx cdk synth -q``, as `make synth` runs it (no Docker, no network)."""
    cli = REPO / "node_modules" / ".bin" / "cdk"
    if not cli.exists():
        if os.environ.get("CI"):
            pytest.fail("run `npm ci` first: the CDK CLI is part of the CI toolchain")
        pytest.skip("CDK CLI not installed (run `npm ci` at the repo root)")
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
               CDK_DISABLE_CLI_TELEMETRY="true")
    proc = subprocess.run(
        [str(cli), "synth", "-q", "--no-notices", "-c", "allowInsecureHttp=true", "-o",
         str(tmp_path / "cdk.out")],
        cwd=CDK_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    template = json.loads((tmp_path / "cdk.out" / "CentralAnalytics.template.json").read_text())
    assert any(r["Type"] == "AWS::ECS::Service" for r in template["Resources"].values())
