"""What a disaster-recovery drill reports: the recovery point it reached and each step's time.

The achieved RPO is the drill's start minus the recovery point: the data a real restore at that
moment would have lost. A drill passes when the restored copy holds what the source held at the
recovery point (counts) and a sample of its items equals the source's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class DrillError(RuntimeError):
    """The drill cannot run (no PITR, no backup yet); the message says what to do."""


@dataclass(frozen=True)
class DrillStep:
    name: str
    seconds: float
    detail: str = ""


class StepTimer:
    """Runs a drill's steps one by one, timing each with ``perf``: ``steps`` is what the report
    lists (the restore's duration is their sum)."""

    def __init__(self, perf: Callable[[], float]) -> None:
        self.perf = perf
        self.steps: list[DrillStep] = []

    def __call__(self, name: str, fn: Callable[[], Any],
                 detail: Callable[[Any], str] = str) -> Any:
        t0 = self.perf()
        out = fn()
        self.steps.append(DrillStep(name, self.perf() - t0, detail(out)))
        return out


@dataclass(frozen=True)
class DrillReport:
    backend: str
    source: str  # the table or store restored from
    restored: str  # the copy the drill made (and deleted)
    started_at: datetime
    recovery_point: datetime
    expected_count: int  # what the source held at the recovery point
    restored_count: int
    sample_size: int
    sample_mismatches: int
    steps: tuple[DrillStep, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def achieved_rpo_s(self) -> float:
        return max(0.0, (self.started_at - self.recovery_point).total_seconds())

    @property
    def duration_s(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def passed(self) -> bool:
        return (self.expected_count == self.restored_count and self.sample_mismatches == 0
                and self.sample_size > 0)


def _span(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s" if m else f"{seconds:.1f} s"


def render(rep: DrillReport) -> str:
    """The drill's printout (the CLI's output and the admin page's text)."""
    match = "match" if rep.expected_count == rep.restored_count else \
        f"DIFFER by {rep.restored_count - rep.expected_count:+,}"
    lines = [
        f"DR drill ({rep.backend}): {rep.source} -> {rep.restored}",
        f"started:        {rep.started_at:%Y-%m-%d %H:%M:%S} UTC",
        f"recovery point: {rep.recovery_point:%Y-%m-%d %H:%M:%S} UTC",
        f"achieved RPO:   {_span(rep.achieved_rpo_s)}",
        f"items:          source at the recovery point {rep.expected_count:,} · restored "
        f"{rep.restored_count:,} · {match}",
        f"sample:         {rep.sample_size} compared, {rep.sample_mismatches} differ",
        "steps:",
        *[f"  {s.name:<28}{s.seconds:9.2f} s  {s.detail}".rstrip() for s in rep.steps],
        f"  {'total (RTO of the restore)':<28}{rep.duration_s:9.2f} s",
        *[f"note: {n}" for n in rep.notes],
        f"result: {'PASS' if rep.passed else 'FAIL'}",
    ]
    return "\n".join(lines)
