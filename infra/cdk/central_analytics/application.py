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
from central_analytics.dr import build_dr_stacks
from central_analytics.nag import enable_nag
from central_analytics.pipeline import PipelineStack
from central_analytics.stack import CentralAnalyticsStack
from central_analytics.tagging import apply_tags

STACK_NAME = "CentralAnalytics"
PIPELINE_STACK_NAME = "CentralAnalyticsPipeline"
#: The pipeline stack reads the main stack's table, topic, plan and role: keep those exports
#: protected (CDK's current default, set explicitly so it cannot change under us).
DEFAULT_CONTEXT = {"@aws-cdk/core:defaultCrossStackReferences": "strong"}


def build_app(
    context: Mapping[str, Any] | None = None,
    *,
    outdir: str | None = None,
    nag: bool = True,
) -> tuple[cdk.App, CentralAnalyticsStack]:
    """Create the app with its single stack; ``context`` overrides cdk.json/CLI context."""
    app = cdk.App(context={**DEFAULT_CONTEXT, **dict(context or {})}, outdir=outdir)
    ctx = _context_of(app, context)
    cfg = load_config(ctx)
    check_transport(cfg)
    stack = build_stack(app, cfg)
    pipeline = build_pipeline_stack(app, cfg, stack)
    if cfg.replica_region:
        target, _standby = build_dr_stacks(app, cfg, stack)
        pipeline.add_stack_dependency(target, "report replication needs its destination bucket")
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
        cross_region_references=bool(cfg.replica_region),
    )


#: camelCase spellings accepted on the command line (``-c replicaRegion=eu-west-1``).
ALIASES = {"replicaRegion": "replica_region"}


def build_pipeline_stack(app: cdk.App, cfg: DeployConfig,
                         main: CentralAnalyticsStack) -> PipelineStack:
    """The pipeline, beside the main stack (it reads the main stack's table, topic and plan)."""
    return PipelineStack(
        app, PIPELINE_STACK_NAME, cfg=cfg, metrics_table=main.metrics.table,
        alarm_topic=main.alarms.topic, backup_plan=main.metrics.plan,
        dashboard_role=main.dashboard.task_role,
        env=cdk.Environment(account=cfg.account, region=cfg.region),
        description="Central Analytics batch pipeline: Step Functions, rollups, reports",
        termination_protection=cfg.environment == "production",
    )


def _context_of(app: cdk.App, explicit: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every :class:`DeployConfig` field found in CLI/cdk.json context, then ``explicit``."""
    ctx = {f.name: app.node.try_get_context(f.name) for f in fields(DeployConfig)}
    for alias, name in ALIASES.items():
        if ctx.get(name) is None:
            ctx[name] = app.node.try_get_context(alias)
    ctx[INSECURE_HTTP_KEY] = app.node.try_get_context(INSECURE_HTTP_KEY)
    ctx.update({ALIASES.get(k, k): v for k, v in (explicit or {}).items()})
    return {k: v for k, v in ctx.items() if v is not None}
