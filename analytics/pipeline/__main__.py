"""``python -m analytics.pipeline``: see :mod:`analytics.cli.pipeline`."""

from analytics.cli.pipeline import main

raise SystemExit(main())
