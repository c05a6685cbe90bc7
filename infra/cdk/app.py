#!/usr/bin/env python3
"""CDK entry point (``cdk synth``/``cdk deploy`` run this via cdk.json).

Synthesis runs the cdk-nag AwsSolutions pack as a validation plugin, so ``cdk synth`` fails on
any unacknowledged finding, exactly like the test suite.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from central_analytics.application import build_app


def main() -> None:
    """Build and synthesize the app; context comes from cdk.json and ``-c key=value``."""
    app, _stack = build_app()
    app.synth()


if __name__ == "__main__":
    main()
