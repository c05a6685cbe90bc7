"""The pipeline's shapes: what a run is asked to do, the rollup of one app-day, the run record.

A rollup is keyed by (app, day), so storing one again *replaces* it: re-running a day, a week or
a backfill overwrites the same keys and never duplicates. Days are whole UTC days and a run
covers ``[start, end)``; a day is only rolled up once it is complete (never today), because a
partial day stored as final would read as a drop forever.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from analytics.core.validation import first_problem
from analytics.reports.cost_review import ReportError, parse_week, week_label

Mode = Literal["day", "week", "backfill"]
#: Costs of untagged spend and of tags outside the catalog, kept as one pseudo-app.
UNASSIGNED = "(unassigned)"
#: The longest span one pass fetches: a year of backfill runs as 12 passes, so memory, the
#: Lambda's 15 minutes and the Step Functions payload stay bounded whatever the range.
CHUNK_DAYS = 31
STATUSES = ("running", "succeeded", "failed")


class PipelineError(ValueError):
    """A run that cannot be made as asked (bad date, incomplete day); the message says why."""


@dataclass(frozen=True)
class ReportSpec:
    """One pack to build: ``kind`` "week" (label ``2026-W47``) or "month" (label ``2026-10``)."""

    kind: Literal["week", "month"]
    label: str


@dataclass(frozen=True)
class RunRequest:
    """Days ``[start, end)`` to roll up and the packs to build with them."""

    mode: Mode
    start: date
    end: date
    reports: tuple[ReportSpec, ...] = ()

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start}" if last == self.start else f"{self.start}..{last}"

    def chunks(self, size: int = CHUNK_DAYS) -> list[RunRequest]:
        """Passes of at most ``size`` days; the packs go with the last one."""
        out: list[RunRequest] = []
        d = self.start
        while d < self.end:
            e = min(self.end, d + timedelta(days=size))
            out.append(RunRequest(self.mode, d, e, self.reports if e == self.end else ()))
            d = e
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "reports": [[r.kind, r.label] for r in self.reports]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRequest:
        return cls(data["mode"], date.fromisoformat(data["start"]),
                   date.fromisoformat(data["end"]),
                   tuple(ReportSpec(k, label) for k, label in data.get("reports", ())))


def day_request(day: date, *, today: date) -> RunRequest:
    """One day; on the 1st of a month (``day`` the month's last) also the month's pack."""
    _complete(day + timedelta(days=1), today)
    reports: tuple[ReportSpec, ...] = ()
    if (day + timedelta(days=1)).day == 1:
        reports = (ReportSpec("month", f"{day:%Y-%m}"),)
    return RunRequest("day", day, day + timedelta(days=1), reports)


def week_request(week: str, *, today: date) -> RunRequest:
    """The seven days of an ISO week (re-rolled once costs settle) and the week's pack."""
    try:
        start, end = parse_week(week)
    except ReportError as exc:
        raise PipelineError(str(exc)) from None
    _complete(end, today)
    return RunRequest("week", start, end, (ReportSpec("week", week_label(start)),))


def backfill_request(first: date, last: date, *, today: date) -> RunRequest:
    """Days ``first..last`` inclusive, rollups only (a backfill sends no packs)."""
    if last < first:
        raise PipelineError(f"the backfill ends ({last}) before it starts ({first})")
    _complete(last + timedelta(days=1), today)
    return RunRequest("backfill", first, last + timedelta(days=1))


def _complete(end: date, today: date) -> None:
    if end > today:
        raise PipelineError(f"{end - timedelta(days=1)} is not a complete day yet (today is "
                            f"{today} UTC): the pipeline rolls up finished days only")


class RunEvent(BaseModel):
    """What a schedule, the CLI or the backfill button asks for (a Step Functions input).

    ``mode`` alone takes the defaults: yesterday for a day run, last ISO week for a week run.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    mode: Mode = "day"
    day: str | None = Field(default=None, alias="date")
    week: str | None = None
    start: str | None = Field(default=None, alias="from")
    end: str | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _backfill_has_range(self) -> RunEvent:
        if self.mode == "backfill" and not (self.start and self.end):
            raise ValueError("a backfill needs 'from' and 'to' (YYYY-MM-DD, inclusive)")
        return self

    def request(self, *, today: date) -> RunRequest:
        try:
            if self.mode == "week":
                return week_request(self.week or week_label(today - timedelta(days=7)),
                                    today=today)
            if self.mode == "backfill":
                assert self.start and self.end  # checked by the validator
                return backfill_request(_day(self.start), _day(self.end), today=today)
            return day_request(_day(self.day) if self.day else today - timedelta(days=1),
                               today=today)
        except ValueError as exc:
            raise PipelineError(str(exc)) from None


def event_of(request: RunRequest) -> dict[str, str]:
    """The event that asks for ``request`` again (a Step Functions execution's input)."""
    if request.mode == "day":
        return {"mode": "day", "date": request.start.isoformat()}
    if request.mode == "week":
        return {"mode": "week", "week": week_label(request.start)}
    return {"mode": "backfill", "from": request.start.isoformat(),
            "to": (request.end - timedelta(days=1)).isoformat()}


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PipelineError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def parse_event(event: Mapping[str, Any], *, today: date) -> RunRequest:
    """A run request from an event, with our message on bad input."""
    try:
        return RunEvent.model_validate(dict(event)).request(today=today)
    except ValidationError as exc:
        raise PipelineError(first_problem(exc).message) from None


# --- rollups and runs -----------------------------------------------------------------------

MetricValue = tuple[str, str, str, float]  # (resource, metric, stat, value)


@dataclass(frozen=True)
class Rollup:
    """One app's day: CloudWatch's own daily statistics, the day's costs, the custom sums.

    ``metrics`` rows come straight from GetMetricData with a one-day period (a p95 here is
    CloudWatch's p95 of the day's raw values, never a mean of hourly p95s); ``costs`` is
    cost metric -> service -> USD; ``custom`` is "metric" or "metric|dims" -> the day's sum.
    """

    app: str
    day: date
    metrics: tuple[MetricValue, ...] = ()
    costs: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    custom: Mapping[str, float] = field(default_factory=dict)
    computed_ms: int = 0

    def to_json(self) -> str:
        return json.dumps({"metrics": [list(m) for m in self.metrics],
                           "costs": self.costs, "custom": self.custom},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, app: str, day: date, text: str, computed_ms: int) -> Rollup:
        data = json.loads(text)
        return cls(app, day, tuple((str(r), str(m), str(s), float(v))
                                   for r, m, s, v in data.get("metrics", [])),
                   {k: {s: float(v) for s, v in per.items()}
                    for k, per in data.get("costs", {}).items()},
                   {k: float(v) for k, v in data.get("custom", {}).items()}, computed_ms)


@dataclass(frozen=True)
class RunRecord:
    """What one pass did: the stored counts, how long each step took, and how it ended."""

    run_id: str
    request: RunRequest
    status: str
    started_ms: int
    trigger: str = "cli"
    finished_ms: int | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    durations_s: Mapping[str, float] = field(default_factory=dict)
    reports: tuple[str, ...] = ()
    error: str | None = None

    def finished(self, status: str, *, at_ms: int, **changes: Any) -> RunRecord:
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        return replace(self, status=status, finished_ms=at_ms, **changes)

    def to_json(self) -> str:
        return json.dumps({
            "run_id": self.run_id, "request": self.request.to_dict(), "status": self.status,
            "started_ms": self.started_ms, "finished_ms": self.finished_ms,
            "trigger": self.trigger, "counts": dict(self.counts),
            "durations_s": dict(self.durations_s), "reports": list(self.reports),
            "error": self.error}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        d = json.loads(text)
        return cls(d["run_id"], RunRequest.from_dict(d["request"]), d["status"],
                   int(d["started_ms"]), d.get("trigger", "cli"), d.get("finished_ms"),
                   {k: int(v) for k, v in d.get("counts", {}).items()},
                   {k: float(v) for k, v in d.get("durations_s", {}).items()},
                   tuple(d.get("reports", ())), d.get("error"))

