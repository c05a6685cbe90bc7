"""``python -m analytics.doctor``: the CLI lives with the others in :mod:`analytics.cli.doctor`."""
from analytics.cli.doctor import main

raise SystemExit(main())
