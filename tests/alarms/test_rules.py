"""CloudWatch's evaluation rules at their edges, including every row of AWS's two tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.alarms.rules import ALARM, INSUFFICIENT_DATA, OK, TREATMENTS, Evaluation, decide, run

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
THRESHOLD = 5.0
SYMBOL = {"0": 1.0, "X": 9.0, "-": None}  # non-breaching, breaching, missing
RETAIN = "retain"


def ev(n: int, m: int, treat: str = "missing", op: str = ">=", period: int = 300
       ) -> Evaluation:
    return Evaluation(THRESHOLD, op, period, n, m, treat)


def points(pattern: str) -> list[float | None]:
    return [SYMBOL[c] for c in pattern.split()]


def stamps(k: int, period: int = 300) -> list[datetime]:
    return [T0 + timedelta(seconds=period * i) for i in range(k)]


# AWS "Configuring how CloudWatch alarms treat missing data": the two documented tables.
# Columns: MISSING, IGNORE, BREACHING, NOT BREACHING.
AWS_3_OF_3 = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - - - X", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("X - - - -", ALARM, RETAIN, ALARM, OK),
]
AWS_2_OF_3 = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - - X", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
]
CASES = [(3, *row) for row in AWS_3_OF_3] + [(2, *row) for row in AWS_2_OF_3]


@pytest.mark.parametrize(("m", "pattern", "missing", "ignore", "breaching", "not_breaching"),
                         CASES)
def test_every_row_of_the_aws_tables(m: int, pattern: str, missing: str, ignore: str,
                                     breaching: str, not_breaching: str) -> None:
    expected = dict(zip(["missing", "ignore", "breaching", "notBreaching"],
                        [missing, ignore, breaching, not_breaching], strict=True))
    for treat, want in expected.items():
        d = decide(points(pattern), ev(3, m, treat))
        assert (d.state or RETAIN) == want, (pattern, treat)


@pytest.mark.parametrize("prior", [OK, ALARM])
@pytest.mark.parametrize("pattern", ["- - - - -", "- - - - X", "X - - - -"])
def test_ignore_keeps_whatever_state_the_alarm_was_in(prior: str, pattern: str) -> None:
    # Three full periods put the alarm in `prior`, then the table's window follows.
    lead = [9.0] * 3 if prior == ALARM else [1.0] * 3
    values = lead + points(pattern)
    result = run(values, stamps(len(values)), ev(3, 3, "ignore"))
    assert result.states[2] == prior
    assert result.states[-1] == prior
    assert [t.new for t in result.transitions] == [prior]


@pytest.mark.parametrize(("pattern", "want"), [
    ("X 0 X", ALARM),         # 2 of the last 3 breach, not adjacent
    ("X X 0", ALARM),
    ("0 X X", ALARM),
    ("X 0 0", OK),            # only one
    ("X 0 0 X", OK),          # the first X has left the window: 0 0 X
    ("X 0 X 0 0", OK),
    ("0 0 0 X 0 X", ALARM),
])
def test_two_of_three_with_breaching_at_positions(pattern: str, want: str) -> None:
    values = points(pattern)
    result = run(values, stamps(len(values)), ev(3, 2))
    assert result.state == want


def test_m_of_n_goes_back_to_ok_only_when_fewer_than_m_breach() -> None:
    values = points("X X X 0 X X 0 0")
    result = run(values, stamps(len(values)), ev(3, 2))
    assert result.states == [INSUFFICIENT_DATA, INSUFFICIENT_DATA] + [ALARM] * 5 + [OK]
    assert [(t.old, t.new) for t in result.transitions] == [(INSUFFICIENT_DATA, ALARM),
                                                            (ALARM, OK)]
    # Stamped at the end of the evaluated period.
    assert result.transitions[1].at == T0 + timedelta(minutes=40)
    assert "1 of the last 3 datapoints" in result.transitions[1].reason


@pytest.mark.parametrize("treat", TREATMENTS)
def test_insufficient_data_until_n_periods_exist(treat: str) -> None:
    values: list[float | None] = [9.0] * 6
    result = run(values, stamps(6), ev(4, 1, treat))
    assert result.states[:3] == [INSUFFICIENT_DATA] * 3
    assert result.states[3:] == [ALARM] * 3
    first = result.transitions[0]
    assert first.at == T0 + timedelta(minutes=20) and first.old == INSUFFICIENT_DATA
    assert result.since == first.at and result.created_at == T0


def test_all_missing_from_the_start_per_treatment() -> None:
    values: list[float | None] = [None] * 5
    got = {t: run(values, stamps(5), ev(2, 2, t)).state for t in TREATMENTS}
    assert got == {"missing": INSUFFICIENT_DATA, "ignore": INSUFFICIENT_DATA,
                   "breaching": ALARM, "notBreaching": OK}


def test_missing_data_ends_an_alarm_only_as_configured() -> None:
    values = points("X X - - - - - - -")
    final = {t: run(values, stamps(len(values)), ev(2, 2, t)).state for t in TREATMENTS}
    assert final == {"missing": INSUFFICIENT_DATA, "ignore": ALARM, "breaching": ALARM,
                     "notBreaching": OK}


def test_dynamodb_alarms_always_ignore_missing_data() -> None:
    values = points("X X - - - - -")
    e = ev(1, 1, "notBreaching")
    assert run(values, stamps(len(values)), e, namespace="AWS/Lambda").state == OK
    assert run(values, stamps(len(values)), e, namespace="AWS/DynamoDB").state == ALARM


@pytest.mark.parametrize(("op", "at_threshold", "above", "below"), [
    (">=", True, True, False),
    ("GreaterThanOrEqualToThreshold", True, True, False),
    (">", False, True, False),
    ("<", False, False, True),
    ("<=", True, False, True),
    ("LessThanOrEqualToThreshold", True, False, True),
])
def test_threshold_equality_per_operator(op: str, at_threshold: bool, above: bool,
                                         below: bool) -> None:
    e = ev(1, 1, op=op)
    assert e.breaches(THRESHOLD) is at_threshold
    assert e.breaches(THRESHOLD + 0.001) is above
    assert e.breaches(THRESHOLD - 0.001) is below
    state = run([THRESHOLD], stamps(1), e).state
    assert state == (ALARM if at_threshold else OK)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"datapoints_to_alarm": 4}, "datapoints_to_alarm must be between 1 and"),
    ({"evaluation_periods": 0, "datapoints_to_alarm": 0}, "evaluation_periods must be >= 1"),
    ({"evaluation_periods": 300, "datapoints_to_alarm": 1}, "must not exceed one day"),
    ({"period": 90}, "multiple of 60"),
    ({"treat_missing_data": "zero"}, "treat_missing_data must be one of"),
    ({"operator": "=="}, "unknown comparison"),
    ({"threshold": float("nan")}, "finite"),
])
def test_invalid_evaluations_say_what_is_wrong(kwargs: dict[str, object], message: str
                                               ) -> None:
    base: dict[str, object] = {"threshold": 1.0, "operator": ">=", "period": 300,
                               "evaluation_periods": 3, "datapoints_to_alarm": 2,
                               "treat_missing_data": "missing"}
    with pytest.raises(ValueError, match=message):
        Evaluation(**(base | kwargs))  # type: ignore[arg-type]


def reference(values: list[float | None], e: Evaluation) -> list[str]:
    """The rules applied step by step, without run()'s vectorised shortcut."""
    state, out = INSUFFICIENT_DATA, []
    for i in range(len(values)):
        if i + 1 >= e.evaluation_periods:
            d = decide(values[max(0, i + 1 - e.range_periods):i + 1], e)
            state = d.state or state
        else:
            state = INSUFFICIENT_DATA
        out.append(state)
    return out


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.sampled_from([None, 1.0, 5.0, 9.0]), min_size=1, max_size=40),
       n=st.integers(1, 5), m_frac=st.integers(0, 4), treat=st.sampled_from(TREATMENTS),
       cut=st.integers(0, 40))
def test_vectorised_and_resumed_runs_match_the_step_by_step_rules(
        values: list[float | None], n: int, m_frac: int, treat: str, cut: int) -> None:
    e = ev(n, 1 + m_frac % n, treat)
    full = run(values, stamps(len(values)), e)
    assert full.states == reference(values, e)
    changes = [i for i in range(len(values))
               if full.states[i] != (full.states[i - 1] if i else INSUFFICIENT_DATA)]
    assert [t.at for t in full.transitions] == [T0 + timedelta(minutes=5 * (i + 1))
                                                for i in changes]
    k = min(cut, len(values))
    head = run(values[:k], stamps(k), e)
    resumed = run(values, stamps(len(values)), e, resume=head)
    assert resumed.states == full.states and resumed.transitions == full.transitions
