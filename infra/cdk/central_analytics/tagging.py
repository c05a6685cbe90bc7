"""Cost-allocation tags on every taggable resource of the app.

``cdk.Tags.of(app)`` is an aspect, so it reaches resources created later and inside L2
patterns (ALB, ECS service, log groups...). ``Application`` is fixed because the dashboard itself
groups costs by that tag; ``Environment`` and ``CostCenter`` come from context.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

from central_analytics.config import DeployConfig

APPLICATION_TAG = "central-analytics"


def required_tags(cfg: DeployConfig) -> dict[str, str]:
    """The tag set every resource must carry (the tests compare against this mapping)."""
    return {
        "Application": APPLICATION_TAG,
        "Environment": cfg.environment,
        "CostCenter": cfg.cost_center,
    }


def apply_tags(scope: IConstruct, cfg: DeployConfig) -> None:
    """Tag everything under ``scope`` (normally the whole app)."""
    for key, value in required_tags(cfg).items():
        cdk.Tags.of(scope).add(key, value)
