"""Helpers for the infrastructure tests: synthesize the real app once and query its template.

Every test module builds the app it needs in a module-scoped fixture through the same
``build_app`` that ``infra/cdk/app.py`` uses, with the cdk-nag plugin on, so a template that
passes here is exactly what ``cdk synth`` would produce.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

# installed with the project (pip install -e .), as the CDK CLI finds it from infra/cdk
from central_analytics.application import build_app
from central_analytics.stack import CentralAnalyticsStack

REPO = Path(__file__).resolve().parents[2]
CDK_DIR = REPO / "infra" / "cdk"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"


@dataclass
class Synth:
    """A synthesized app: the stack, its template (dict and assertions form) and the outdir."""

    app: cdk.App
    stack: CentralAnalyticsStack
    outdir: Path
    template: Template
    tpl: dict[str, Any] = field(repr=False)

    def resources(self, rtype: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource for one CloudFormation type."""
        return {k: v for k, v in self.tpl["Resources"].items() if v["Type"] == rtype}

    def one(self, rtype: str) -> tuple[str, dict[str, Any]]:
        """The single resource of ``rtype`` (fails if there are zero or several)."""
        found = self.resources(rtype)
        assert len(found) == 1, f"expected one {rtype}, found {sorted(found)}"
        return next(iter(found.items()))

    def props(self, rtype: str) -> dict[str, Any]:
        return self.one(rtype)[1]["Properties"]

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())

    def stack_metadata(self) -> dict[str, list[dict[str, Any]]]:
        return json.loads((self.outdir / f"{self.stack.stack_name}.metadata.json").read_text())


def synth(outdir: Path, context: Mapping[str, Any] | None = None) -> Synth:
    """Build the app with cdk-nag and synthesize it; raises if cdk-nag reports a finding.

    Without a certificate the stack refuses a public HTTP listener unless told explicitly, as
    an operator would with ``-c allowInsecureHttp=true``; the tests say so for them.
    """
    context = dict(context or {})
    if not context.get("certificate_arn"):
        context.setdefault("allowInsecureHttp", "true")
    app, stack = build_app(context, outdir=str(outdir))
    app.synth()  # runs the AwsSolutions validation plugin; raises on unacknowledged findings
    template = Template.from_stack(stack)
    return Synth(app, stack, outdir, template, template.to_json())


def catalog() -> dict[str, Any]:
    """apps.toml parsed independently of the code under test."""
    return tomllib.loads((REPO / "apps.toml").read_text(encoding="utf-8"))["apps"]


def statements(policy_doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    stmts = policy_doc["Statement"]
    return list(stmts) if isinstance(stmts, list) else [stmts]


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def actions_of(stmts: list[dict[str, Any]]) -> set[str]:
    return {a for s in stmts for a in as_list(s["Action"])}


def policies_of_role(s: Synth, role_logical_id: str) -> list[dict[str, Any]]:
    """All inline AWS::IAM::Policy statements attached to one role."""
    out: list[dict[str, Any]] = []
    for res in s.resources("AWS::IAM::Policy").values():
        roles = res["Properties"].get("Roles", [])
        if {"Ref": role_logical_id} in roles:
            out.extend(statements(res["Properties"]["PolicyDocument"]))
    return out


def ref_id(value: Any) -> str | None:
    """The logical id inside ``{"Ref": id}`` or ``{"Fn::GetAtt": [id, attr]}``."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def walk_metadata(app: cdk.App, mtype: str) -> Iterator[tuple[str, Any]]:
    """(construct path, data) of every metadata entry of ``mtype`` in the construct tree."""
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == mtype:
                yield construct.node.path, entry.data
