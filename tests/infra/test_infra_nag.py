"""cdk-nag AwsSolutions (3.x validation plugin): zero unacknowledged findings, real reasons."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from central_analytics.application import build_app
from central_analytics.nag import (
    ACK_METADATA_TYPE,
    MIN_REASON_CHARS,
    acknowledge,
    acknowledgments_disabled,
)
from tests.infra._cdk import CERT_ARN, Synth, synth, walk_metadata

CONFIGS = {
    "default": {},
    "https-sso": {"certificate_arn": CERT_ARN, "sso": "true", "alarm_email": "ops@example.com"},
    "eu-west-1": {"region": "eu-west-1"},
}

# Every acknowledgment is a reviewed decision; a new one must be added here on purpose.
EXPECTED_ACK_RULES = {
    "AwsSolutions-S1",
    "AwsSolutions-SMG4",
    "AwsSolutions-EC23",
    "AwsSolutions-ECS2",
    "AwsSolutions-IAM4",
    "AwsSolutions-IAM5",
    # the read API: AppSync logs errors without verbose content (callers' tokens), and the
    # stream processor's dead-letter queue has no dead-letter queue of its own
    "AwsSolutions-ASC3",
    "AwsSolutions-SQS3",
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def s(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(Path(tmp_path_factory.mktemp(f"cdk-nag-{request.param}")),
                 CONFIGS[request.param])


def _acks(app: cdk.App) -> dict[str, str]:
    """Acknowledged id (without CDK's ``Annotation::`` prefix) -> reason, app-wide."""
    out: dict[str, str] = {}
    for _path, data in walk_metadata(app, ACK_METADATA_TYPE):
        for rule, reason in dict(data).items():
            out[rule.split("::", 1)[-1]] = reason
    return out


def _nag_acks(app: cdk.App) -> dict[str, str]:
    return {k: v for k, v in _acks(app).items() if k.startswith("AwsSolutions-")}


def test_synth_with_aws_solutions_pack_has_no_unacknowledged_findings(s: Synth) -> None:
    # synth() already raised if cdk-nag reported anything; the report says so explicitly.
    report = s.validation_report()
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin
        assert not plugin.get("violations"), plugin["violations"]


def test_every_acknowledgment_has_a_specific_reason(s: Synth) -> None:
    for rule, reason in _acks(s.app).items():  # CDK's own ones included
        assert str(reason).strip(), rule
    acks = _nag_acks(s.app)
    assert acks
    for rule, reason in acks.items():
        assert reason.strip() and len(reason.strip()) >= MIN_REASON_CHARS, (rule, reason)
        assert "todo" not in reason.lower() and "fixme" not in reason.lower()
    bases = {rule.split("[", 1)[0] for rule in acks}
    assert bases <= EXPECTED_ACK_RULES, bases - EXPECTED_ACK_RULES


def test_no_acknowledgment_is_stale(tmp_path: Path) -> None:
    """Without acknowledgments synthesis fails, and with exactly the acknowledged findings."""
    with acknowledgments_disabled():
        app, _ = build_app(CONFIGS["https-sso"], outdir=str(tmp_path))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    found = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    ok, _ = build_app(CONFIGS["https-sso"])
    assert set(_nag_acks(ok)) == found


def test_acknowledge_rejects_vague_reasons() -> None:
    stack = cdk.Stack(cdk.App(), "Scratch")
    with pytest.raises(ValueError, match="reason"):
        acknowledge(stack, "AwsSolutions-S1", "   ")
    with pytest.raises(ValueError, match="reason"):
        acknowledge(stack, "AwsSolutions-S1", "ok")
    with pytest.raises(ValueError, match="AwsSolutions"):
        acknowledge(stack, "Foo-1", "a long enough reason that would otherwise pass")
