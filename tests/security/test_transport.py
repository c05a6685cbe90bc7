"""Transport: nothing listens wider or speaks plainer than asked.

Before, ``make run`` listened on every interface and the stack deployed a public HTTP-only load
balancer whenever no certificate was given (passwords and cookies in clear).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central_analytics.application import build_app
from central_analytics.config import ConfigError
from tests.infra._cdk import CERT_ARN, Synth, synth

ROOT = Path(__file__).resolve().parents[2]


def test_the_stack_refuses_a_public_http_only_listener_unless_told(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="allowInsecureHttp=true"):
        build_app({}, outdir=str(tmp_path / "a"))
    with pytest.raises(ConfigError, match="certificate_arn"):
        build_app({"allowInsecureHttp": "false"}, outdir=str(tmp_path / "b"))
    build_app({"allowInsecureHttp": "true"}, outdir=str(tmp_path / "c"))  # said explicitly


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp("cdk-https")), {"certificate_arn": CERT_ARN})


def test_with_a_certificate_http_redirects_and_https_sends_hsts(https: Synth) -> None:
    listeners = {li["Properties"]["Port"]: li["Properties"]
                 for li in https.resources("AWS::ElasticLoadBalancingV2::Listener").values()}
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
    attrs = {a["Key"]: a["Value"] for a in listeners[443].get("ListenerAttributes", [])}
    hsts = attrs["routing.http.response.strict_transport_security.header_value"]
    assert hsts.startswith("max-age=31536000")
    # cdk-nag ran inside synth() and raised on any unacknowledged finding
    assert https.validation_report()


def test_the_dashboard_trusts_forwarded_addresses_only_from_its_vpc(https: Synth) -> None:
    (container,) = https.props("AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    vpc_id = https.one("AWS::EC2::VPC")[0]
    assert env["AUTH_TRUSTED_PROXIES"] == {"Fn::GetAtt": [vpc_id, "CidrBlock"]}


def test_the_ingest_lambda_gets_the_catalogs_principals_and_caps(https: Synth) -> None:
    fn = next(r["Properties"] for r in https.resources("AWS::Lambda::Function").values()
              if "INGEST_PRINCIPALS" in r["Properties"].get("Environment", {}).get(
                  "Variables", {}))
    env = fn["Environment"]["Variables"]
    assert set(json.loads(env["INGEST_PRINCIPALS"])) == {"jobseek", "ilikeyacut"}
    assert json.loads(env["INGEST_CAPS"])["jobseek"] == [200, 100]


def test_make_run_listens_on_this_machine_only_and_the_container_on_all() -> None:
    from analytics.ui.serve import LOCAL_ONLY

    makefile = (ROOT / "Makefile").read_text()
    assert LOCAL_ONLY == "127.0.0.1" and "ADDRESS ?= 127.0.0.1" in makefile
    assert "--address $(ADDRESS)" in makefile
    assert "--server.address=0.0.0.0" in (ROOT / "Dockerfile").read_text()
