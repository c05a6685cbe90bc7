"""Run every bench script: ``python -m bench`` (what ``make bench`` does)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

SKIP = {"common", "__main__"}


def main() -> None:
    here = Path(__file__).parent
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name not in SKIP):
        importlib.import_module(f"bench.{mod}").main()
        print()


if __name__ == "__main__":
    main()
