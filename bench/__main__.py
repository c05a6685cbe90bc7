"""Run every bench script: ``python -m bench`` (what ``make bench`` does).

Each script runs in its own interpreter: benches must not share caches or runtimes, and
AppTest rebinds ``__main__``, which would confuse a later bench's worker processes.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

SKIP = {"common", "browser_js", "__main__"}


def main() -> int:
    here = Path(__file__).parent
    failed = []
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name not in SKIP):
        print(f"$ python -m bench.{mod}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{mod}"], cwd=here.parent).returncode:
            failed.append(mod)
        print(flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
