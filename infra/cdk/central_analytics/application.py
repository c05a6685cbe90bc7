"""Build the CDK app from a context mapping: used by ``app.py`` and by the tests alike.

Sharing one builder guarantees the tests check exactly what ``cdk synth``/``cdk deploy`` produce,
including the cdk-nag plugin and the tags, rather than a hand-assembled lookalike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import aws_cdk as cdk

from central_analytics.catalog import load_catalog
from central_analytics.config import (
    INSECURE_HTTP_KEY,
    DeployConfig,
    check_transport,
    load_config,
)
from central_analytics.nag import enable_nag
from central_analytics.stack import CentralAnalyticsStack
from central_analytics.tagging import apply_tags

STACK_NAME = "CentralAnalytics"


def build_app(
    context: Mapping[str, Any] | None = None,
    *,
    outdir: str | None = None,
    nag: bool = True,
) -> tuple[cdk.App, CentralAnalyticsStack]:
    """Create the app with its single stack; ``context`` overrides cdk.json/CLI context."""
    app = cdk.App(context=dict(context or {}), outdir=outdir)
    ctx = _context_of(app, context)
    cfg = load_config(ctx)
    check_transport(cfg)
    stack = build_stack(app, cfg)
    apply_tags(app, cfg)
    if nag:
        enable_nag(app)
    return app, stack


def build_stack(app: cdk.App, cfg: DeployConfig) -> CentralAnalyticsStack:
    """The stack, deployed to ``cfg.region`` (account from the CLI's credentials if unset)."""
    return CentralAnalyticsStack(
        app,
        STACK_NAME,
        cfg=cfg,
        apps=load_catalog(cfg.catalog_path),
        env=cdk.Environment(account=cfg.account, region=cfg.region),
        description="Central Analytics: metrics ingest, alarms and the Streamlit ops dashboard",
        termination_protection=cfg.environment == "production",
    )


def _context_of(app: cdk.App, explicit: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every :class:`DeployConfig` field found in CLI/cdk.json context, then ``explicit``."""
    ctx = {f.name: app.node.try_get_context(f.name) for f in fields(DeployConfig)}
    ctx[INSECURE_HTTP_KEY] = app.node.try_get_context(INSECURE_HTTP_KEY)
    ctx.update(explicit or {})
    return {k: v for k, v in ctx.items() if v is not None}
