"""cdk-nag 3.x wiring: the AwsSolutions pack as a CDK validation plugin, plus acknowledgments.

cdk-nag 3 runs inside ``app.synth()`` through ``cdk.Validations`` (the 2.x Aspects and
``NagSuppressions`` API no longer exist). Every acknowledgment goes through :func:`acknowledge`
so a reason is mandatory and specific: an empty or boilerplate reason fails at synth time,
and the tests read the recorded reasons back from construct metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

ACK_METADATA_TYPE = "aws:cdk:acknowledged-rules"
MIN_REASON_CHARS = 30
_state = {"enabled": True}


@contextmanager
def acknowledgments_disabled() -> Iterator[None]:
    """Build an app without acknowledgments (tests use it to prove none of them is stale)."""
    _state["enabled"] = False
    try:
        yield
    finally:
        _state["enabled"] = True


def enable_nag(app: cdk.App) -> None:
    """Register the AwsSolutions rule pack: synthesis fails on any unacknowledged finding."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``scope`` (and its children) with a real reason."""
    if not rule_id.startswith("AwsSolutions-"):
        raise ValueError(f"{rule_id!r}: only AwsSolutions findings are acknowledged here")
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise ValueError(f"{rule_id}: the acknowledgment reason must explain why (got {reason!r})")
    if not _state["enabled"]:
        return
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason.strip()))
