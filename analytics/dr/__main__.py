"""``python -m analytics.dr``: see :mod:`analytics.cli.dr`."""

from analytics.cli.dr import main

raise SystemExit(main())
