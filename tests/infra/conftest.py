"""Make the CDK app package (infra/cdk/central_analytics) importable before test modules load.

The CDK app is not an installed package: ``cdk synth`` runs it from infra/cdk, so the tests
put that directory on ``sys.path`` as the CLI's working directory would. It is *appended*: the
directory also holds the CDK entry point ``app.py``, which must never shadow the ingest Lambda's
``app`` module that tests/functions puts first on the path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

CDK_DIR = Path(__file__).resolve().parents[2] / "infra" / "cdk"
if str(CDK_DIR) not in sys.path:
    sys.path.append(str(CDK_DIR))
