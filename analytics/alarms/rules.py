"""CloudWatch's alarm evaluation rules as pure functions, plus the alarm model both backends share.

Why a re-implementation: the local backend must behave like CloudWatch so an on-call engineer
who learns the dashboard on a laptop sees the same states, the same M-of-N behaviour and the
same missing-data surprises they will see on AWS. The rules follow the AWS documentation
("Configuring how CloudWatch alarms treat missing data"):

* each evaluation looks at an *evaluation range* of a few more periods than N (here N + 2, the
  range AWS uses in its documented examples);
* with at least N real datapoints in the range, the N most recent real ones decide and the
  missing-data setting is not used;
* with fewer, missing points are filled "as few times as possible" (N - real of them, the most
  recent missing ones) according to ``treat_missing_data``; every real point still counts;
* ALARM when at least M (``datapoints_to_alarm``) evaluated points breach, otherwise OK;
* all points missing: ``missing`` -> INSUFFICIENT_DATA, ``ignore`` -> keep the current state,
  ``breaching`` -> ALARM, ``notBreaching`` -> OK;
* ``missing``/``ignore`` with some real points, none of them non-breaching and fewer than M
  breaching: ``ignore`` keeps the state; ``missing`` goes ALARM when the oldest evaluated point
  is a real breaching one, otherwise INSUFFICIENT_DATA (rows 5 and 6 of AWS's first table);
* a new alarm is INSUFFICIENT_DATA until N periods of data exist;
* alarms on ``AWS/DynamoDB`` metrics always ignore missing data (PutMetricAlarm reference).

``tests/alarms/test_rules.py`` replays every row of AWS's two documented tables.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
#: Display order: what is broken first.
STATES = (ALARM, INSUFFICIENT_DATA, OK)
STATE_RANK = {s: i for i, s in enumerate(STATES)}

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
SYMBOLS = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">",
           "LessThanThreshold": "<", "LessThanOrEqualToThreshold": "<="}
ALIASES = {v: k for k, v in SYMBOLS.items()}
_WORDS = {"GreaterThanOrEqualToThreshold": "greater than or equal to",
          "GreaterThanThreshold": "greater than", "LessThanThreshold": "less than",
          "LessThanOrEqualToThreshold": "less than or equal to"}
TREATMENTS = ("missing", "breaching", "notBreaching", "ignore")
#: Periods fetched beyond N for each evaluation (AWS's examples: 5 periods for N = 3).
EXTRA_RANGE_PERIODS = 2
#: CloudWatch: evaluation periods x period may not exceed one day.
MAX_EVALUATION_SECONDS = 86_400


def canonical_operator(op: str) -> str:
    """``">="`` or ``"GreaterThanOrEqualToThreshold"`` -> the CloudWatch name; else ValueError."""
    name = ALIASES.get(op, op)
    if name not in OPERATORS:
        raise ValueError(f"unknown comparison {op!r}: use one of {sorted(ALIASES)} "
                         f"or {sorted(OPERATORS)}")
    return name


def effective_treatment(namespace: str, treatment: str) -> str:
    """AWS/DynamoDB alarms always ignore missing data, whatever the alarm says."""
    return "ignore" if namespace == "AWS/DynamoDB" else treatment


@dataclass(frozen=True)
class Evaluation:
    """How a metric alarm is evaluated (the PutMetricAlarm fields that decide its state)."""

    threshold: float
    operator: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str = "missing"

    def __post_init__(self) -> None:
        object.__setattr__(self, "operator", canonical_operator(self.operator))
        n, m = self.evaluation_periods, self.datapoints_to_alarm
        if self.period < 10 or (self.period >= 60 and self.period % 60) \
                or (self.period < 60 and self.period not in (10, 30)):
            raise ValueError(f"period must be 10, 30 or a multiple of 60 seconds, "
                             f"got {self.period}")
        if n < 1:
            raise ValueError(f"evaluation_periods must be >= 1, got {n}")
        if not 1 <= m <= n:
            raise ValueError(f"datapoints_to_alarm must be between 1 and evaluation_periods "
                             f"({n}), got {m}")
        if n * self.period > MAX_EVALUATION_SECONDS:
            raise ValueError(f"evaluation_periods x period must not exceed one day, got "
                             f"{n} x {self.period} s")
        if self.treat_missing_data not in TREATMENTS:
            raise ValueError(f"treat_missing_data must be one of {TREATMENTS}, "
                             f"got {self.treat_missing_data!r}")
        if not math.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number, got {self.threshold!r}")

    @property
    def range_periods(self) -> int:
        return self.evaluation_periods + EXTRA_RANGE_PERIODS

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.operator]

    def breaches(self, value: float) -> bool:
        return OPERATORS[self.operator](value, self.threshold)

    def describe(self) -> str:
        """``"> 200 for 3 of 3 x 5 min, missing data: missing"``."""
        return (f"{self.symbol} {self.threshold:g} for {self.datapoints_to_alarm} of "
                f"{self.evaluation_periods} x {_dur(self.period)}, missing data: "
                f"{self.treat_missing_data}")


def _dur(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def _present(v: float | None) -> TypeGuard[float]:
    """A real datapoint: neither None nor NaN (a TypeGuard, so callers need no cast to float)."""
    return not (v is None or (isinstance(v, float) and math.isnan(v)))


@dataclass(frozen=True)
class Decision:
    """The outcome of one evaluation: the new state (None = keep the current one) and why."""

    state: str | None
    breaching: int
    evaluated: int
    filled: int
    note: str = ""


def decide(window: Sequence[float | None], ev: Evaluation, treatment: str | None = None
           ) -> Decision:
    """One evaluation over ``window`` (the evaluation range, oldest first; None = missing)."""
    n, m = ev.evaluation_periods, ev.datapoints_to_alarm
    treat = treatment or ev.treat_missing_data
    real = [(i, ev.breaches(float(v))) for i, v in enumerate(window) if _present(v)]
    if len(real) >= n:
        b = sum(flag for _, flag in real[-n:])
        return Decision(ALARM if b >= m else OK, b, n, 0)
    k = len(real)
    fill = n - k
    b = sum(flag for _, flag in real)
    if treat == "breaching":
        b += fill
        return Decision(ALARM if b >= m else OK, b, n, fill, "missing treated as breaching")
    if treat == "notBreaching":
        return Decision(ALARM if b >= m else OK, b, n, fill, "missing treated as not breaching")
    if not real:
        state = None if treat == "ignore" else INSUFFICIENT_DATA
        return Decision(state, 0, 0, 0, "no datapoints in the evaluation range")
    if b >= m:
        return Decision(ALARM, b, k, 0)
    if b < k:  # a real non-breaching point: the alarm evaluates to OK
        return Decision(OK, b, k, 0)
    if treat == "ignore":
        return Decision(None, b, k, 0, "too few datapoints; state kept (ignore)")
    missing_pos = [i for i, v in enumerate(window) if not _present(v)][-fill:]
    if real[0][0] < min(missing_pos):
        return Decision(ALARM, b, k, 0, "the oldest evaluated datapoint breaches")
    return Decision(INSUFFICIENT_DATA, b, k, 0, "too few datapoints to decide")


@dataclass(frozen=True)
class Transition:
    """One state change, as DescribeAlarmHistory reports it (HistoryItemType StateUpdate)."""

    at: datetime
    old: str
    new: str
    reason: str = ""


@dataclass(frozen=True)
class Run:
    """Evaluation of a series: the state after each period and the state changes."""

    states: list[str]
    transitions: list[Transition]
    created_at: datetime

    @property
    def state(self) -> str:
        return self.states[-1] if self.states else INSUFFICIENT_DATA

    @property
    def since(self) -> datetime:
        return self.transitions[-1].at if self.transitions else self.created_at


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _reason(ev: Evaluation, d: Decision, window: Sequence[float | None],
            stamps: Sequence[datetime], old: str, new: str) -> str:
    if d.note.startswith("only"):
        return f"Insufficient data: {d.note}."
    shown = [f"{_fmt(float(v))} ({t:%d/%m %H:%M})" for v, t in zip(window, stamps, strict=True)
             if _present(v)][-ev.evaluation_periods:]
    points = f" [{', '.join(reversed(shown))}]" if shown else ""
    crossing = (f"{d.breaching} of the last {ev.evaluation_periods} datapoints{points} "
                f"{'were' if d.breaching != 1 else 'was'} {_WORDS[ev.operator]} the threshold "
                f"({ev.threshold:g})")
    note = f"; {d.note}" if d.note else ""
    if new == ALARM:
        return (f"Threshold Crossed: {crossing} (minimum {ev.datapoints_to_alarm} datapoints "
                f"for {old} -> ALARM){note}.")
    if new == OK:
        return (f"Threshold Crossed: {crossing} (fewer than {ev.datapoints_to_alarm} needed "
                f"to alarm){note}.")
    return f"Insufficient data: {d.note or 'no datapoints'} (missing data: missing)."


_CODES = {OK: 0, ALARM: 1, INSUFFICIENT_DATA: 2}
_NAMES = {v: k for k, v in _CODES.items()}


def run(values: Sequence[float | None], stamps: Sequence[datetime], ev: Evaluation,
        *, namespace: str = "", initial: str = INSUFFICIENT_DATA, resume: Run | None = None
        ) -> Run:
    """Evaluate ``values`` (one per period starting at ``stamps[i]``; None = missing).

    The alarm exists from ``stamps[0]``: it is evaluated at the end of every period and is
    INSUFFICIENT_DATA until N periods of data exist. Transitions are stamped with the end of
    the period whose evaluation changed the state. With ``resume`` (an earlier run over a
    prefix of the same series) only the new periods are evaluated.

    Periods whose last N datapoints all exist are decided in one vectorised pass (the usual
    case); only the others go through :func:`decide`.
    """
    if len(values) != len(stamps):
        raise ValueError("values and stamps must have the same length")
    treat = effective_treatment(namespace, ev.treat_missing_data)
    n, m, r = ev.evaluation_periods, ev.datapoints_to_alarm, ev.range_periods
    first = len(resume.states) if resume else 0
    state = resume.state if resume else initial
    created = resume.created_at if resume else (stamps[0] if stamps else datetime.min)
    # Only the tail the new evaluations can see: a resumed run stays cheap however long.
    base = max(0, first - r)
    arr = np.array([np.nan if v is None else v for v in values[base:]], dtype="float64")
    present = ~np.isnan(arr)
    flags = np.zeros(len(arr), dtype=bool)
    flags[present] = OPERATORS[ev.operator](arr[present], ev.threshold)
    cs_p = np.concatenate(([0], np.cumsum(present)))
    cs_f = np.concatenate(([0], np.cumsum(flags)))
    idx = np.arange(first, len(values))  # global positions; arrays above are offset by base
    lo_n = np.maximum(idx + 1 - n, base) - base
    codes = np.full(len(idx), -1, dtype="int64")  # -1: keep the current state
    early = idx + 1 < n
    hi = idx + 1 - base
    full = ~early & (cs_p[hi] - cs_p[lo_n] == n)
    codes[early] = _CODES[INSUFFICIENT_DATA]
    codes[full] = np.where(cs_f[hi][full] - cs_f[lo_n][full] >= m, _CODES[ALARM], _CODES[OK])
    for j in np.flatnonzero(~early & ~full):
        i = int(idx[j])
        d = decide(values[max(0, i + 1 - r):i + 1], ev, treat)
        codes[j] = -1 if d.state is None else _CODES[d.state]
    resolved = pd.Series(np.where(codes < 0, np.nan, codes)).ffill() \
        .fillna(_CODES[state]).to_numpy(dtype="int64")
    prev = np.concatenate(([_CODES[state]], resolved[:-1]))
    transitions = list(resume.transitions) if resume else []
    step = timedelta(seconds=ev.period)
    for j in np.flatnonzero(resolved != prev):
        i = int(idx[j])
        old, new = _NAMES[int(prev[j])], _NAMES[int(resolved[j])]
        if i + 1 < n:
            d = Decision(new, 0, 0, 0, f"only {i + 1} of {n} evaluation periods exist yet")
            lo = i + 1
        else:
            lo = max(0, i + 1 - r)
            d = decide(values[lo:i + 1], ev, treat)
        reason = _reason(ev, d, values[lo:i + 1], stamps[lo:i + 1], old, new)
        transitions.append(Transition(stamps[i] + step, old, new, reason))
    states = (list(resume.states) if resume else []) + [_NAMES[int(c)] for c in resolved]
    return Run(states, transitions, created)


@dataclass(frozen=True)
class AlarmInfo:
    """One alarm as the dashboard shows it, from either backend.

    ``spec`` is the backend's own handle to draw the alarm's metric (the aws backend keeps the
    alarm's MetricDataQueries, the local backend its rule); pages never look inside it.
    """

    app: str
    name: str
    state: str
    since: datetime
    reason: str = ""
    kind: str = "metric"  # "metric" | "composite"
    description: str = ""
    metric: str = ""  # human label of what is measured
    evaluation: Evaluation | None = None
    unit: str = ""
    rule: str = ""  # composite alarms: the AlarmRule expression
    console_url: str | None = None
    spec: Any = field(default=None, compare=False, repr=False)

    def duration_s(self, now: datetime) -> float:
        return max(0.0, (now - self.since).total_seconds())


def sort_key(info: AlarmInfo) -> tuple[int, float, str, str]:
    """ALARM, then INSUFFICIENT_DATA, then OK; within a state the most recent change first."""
    return (STATE_RANK.get(info.state, len(STATES)), -info.since.timestamp(), info.app,
            info.name)
