"""A doctor's findings as data: one row per check — name, ✓ / ✗ / ⚠, what was found, the fix.

Both sources (a live AWS account, the local backend) answer with these rows, the CLI prints
them and the admin-only Setup page shows them, so the terminal and the page never disagree.
``✗`` means the dashboard will show wrong or empty data until fixed; ``⚠`` means it works but
something is worth a look (or could not be checked). The exit code is 0 only without any ✗.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd


class Status(StrEnum):
    PASS = "✓"
    FAIL = "✗"
    WARN = "⚠"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    found: str
    fix: str = ""


def passed(name: str, found: str) -> Check:
    return Check(name, Status.PASS, found)


def failed(name: str, found: str, fix: str) -> Check:
    return Check(name, Status.FAIL, found, fix)


def warned(name: str, found: str, fix: str = "") -> Check:
    return Check(name, Status.WARN, found, fix)


COLUMNS = ["status", "check", "found", "fix"]
#: The row a source ends with when its backend cannot be reached: nothing else is checked.
NOT_CHECKED = "Everything else"


@dataclass(frozen=True)
class Report:
    """Every check of one run, in the order they ran."""

    backend: str
    where: str
    checks: tuple[Check, ...]

    def count(self, status: Status) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 1 if self.count(Status.FAIL) else 0

    @property
    def summary(self) -> str:
        return (f"{self.count(Status.PASS)} ✓ · {self.count(Status.FAIL)} ✗ · "
                f"{self.count(Status.WARN)} ⚠")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([(c.status.value, c.name, c.found, c.fix) for c in self.checks],
                            columns=COLUMNS)

    def lines(self) -> Iterable[str]:
        """The report as terminal lines: one per check, its fix indented below it."""
        yield f"Central Analytics doctor — {self.backend} backend ({self.where})"
        width = max((len(c.name) for c in self.checks), default=0)
        for c in self.checks:
            yield f"{c.status.value} {c.name:<{width}}  {c.found}"
            if c.fix:
                yield f"  {' ' * width}  fix: {c.fix}"
        yield f"{self.summary} — exit {self.exit_code}"
