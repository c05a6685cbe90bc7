"""Keep jsii's Node 20 end-of-life banner out of the test output.

The CDK app (``central_analytics``) is installed with the project, so nothing edits sys.path.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
