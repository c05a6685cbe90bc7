"""The time-range picker: presets plus a custom range, kept in the URL, shown in the viewer's zone.

The presets are :data:`analytics.core.periods.PRESETS` (a preset added there appears here with a
label made from its length). A custom range is typed in the viewer's zone and stored in the URL
with its offset, so a shared link means the same instants for everyone. A link the picker
cannot honour (an unknown preset, a range ending after now, a reversed range) is corrected and
said so in the sidebar — never a crash, never a silent change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import streamlit as st

from analytics.core.fmt import local, span_text, when, zone_name
from analytics.core.periods import (
    DEFAULT_PRESET,
    HISTORY_PRESETS,
    PRESETS,
    PeriodError,
    TimeRange,
    history_range,
    make_range,
    preset_range,
)

CUSTOM = "custom"
#: Labels of the presets whose generated label would read badly.
LABELS = {"1h": "Last hour", "1y": "Last year", CUSTOM: "Custom range…"}


def preset_label(key: str) -> str:
    """``"24h"`` -> ``"Last 24 hours"``, ``"2y"`` -> ``"Last 2 years"``: from the preset's id
    (its number and unit), so a preset added to ``PRESETS`` needs no label of its own."""
    if key in LABELS:
        return LABELS[key]
    m = re.fullmatch(r"(\d+)([smhdwy])", key)
    if m is None:
        return key
    n, unit = int(m.group(1)), _UNITS[m.group(2)]
    return f"Last {n} {unit}{'' if n == 1 else 's'}"


_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "y": "year"}


def describe(tr: TimeRange, tz: tzinfo = UTC) -> str:
    """One line saying what the page shows: range in the viewer's zone, bucket size and the
    comparison window."""
    name = "Custom range" if tr.label == CUSTOM else preset_label(tr.label)
    bucket = f"{tr.period // 60}-minute" if tr.period < 3600 else f"{tr.period // 3600}-hour"
    return (f"{name} · {span_text(tr.start, tr.end, tz)} · {bucket} "
            f"buckets · changes compare with the previous {span(tr.seconds)}")


def span(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def _parse(raw: str | None, fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(raw).astimezone(UTC) if raw else fallback
    except ValueError:
        return fallback


def url_note(key: str, message: str | None) -> None:
    """A sidebar warning about a URL value that was replaced, kept until the user picks again.

    The first run rewrites the URL; the browser's next rerun (a cookie component, a fragment)
    then sees a valid value, so a warning drawn once would flash and vanish.
    """
    state = st.session_state
    if message is not None:
        state[key] = message
    if state.get(key):
        st.sidebar.warning(state[key], icon=":material/link_off:")


def _forget_note(key: str) -> None:
    st.session_state.pop(key, None)


def time_range_picker(key: str = "range", *, now: datetime, tz: tzinfo = UTC,
                      history: bool = False) -> TimeRange:
    """Sidebar picker bound to ``?range=`` (and ``?from=&to=`` for custom ranges).

    ``history`` adds the long presets (whole days, stitched from the pipeline's rollups) for
    pages that can draw them."""
    qp = st.query_params
    options = [*PRESETS, *(HISTORY_PRESETS if history else ()), CUSTOM]
    wanted = qp.get("range", DEFAULT_PRESET)
    bad = None
    if wanted not in options:
        bad = (f"?range={str(wanted)[:20]} is not a range this page knows: showing "
               f"{preset_label(DEFAULT_PRESET).lower()}.")
        wanted = DEFAULT_PRESET
    choice = st.sidebar.selectbox("Time range", options, index=options.index(wanted),
                                  key=f"{key}_preset", format_func=preset_label,
                                  on_change=_forget_note, args=(f"{key}_note",))
    url_note(f"{key}_note", bad)
    qp["range"] = choice
    if choice != CUSTOM:
        for k in ("from", "to"):
            if k in qp:
                del qp[k]
        return (history_range(choice, now) if choice in HISTORY_PRESETS
                else preset_range(choice, now))
    return _custom_range(key, now=now, tz=tz)


def _custom_range(key: str, *, now: datetime, tz: tzinfo) -> TimeRange:
    qp = st.query_params
    zn = zone_name(tz)
    start = _parse(qp.get("from"), now - timedelta(days=1))
    end = _parse(qp.get("to"), now)
    if end > now:
        st.sidebar.info(f"The range asked for ends {when(end, tz)} {zn}, after now: it ends "
                        "now.", icon=":material/update:")
        end = now
    today = local(now, tz).date()
    first, last = (min(local(t, tz).date(), today) for t in (start, end))
    picked = st.sidebar.date_input(f"Dates ({zn})", (first, last), max_value=today,
                                   key=f"{key}_dates")
    d0, d1 = _two_dates(picked, first)
    t0 = st.sidebar.time_input(f"From ({zn})", _minute(local(start, tz).time()),
                               key=f"{key}_t0")
    t1 = st.sidebar.time_input(f"To ({zn})", _minute(local(end, tz).time()), key=f"{key}_t1")
    s = _at(d0, t0, tz)
    e = _at(d1, t1, tz)
    fallback = preset_label(DEFAULT_PRESET).lower()
    if e <= s:
        st.sidebar.error(f"The range ends ({when(e, tz)} {zn}) before it starts "
                         f"({when(s, tz)} {zn}). Showing {fallback} instead.")
        return preset_range(DEFAULT_PRESET, now)
    try:
        tr = make_range(s, e, now=now, label=CUSTOM)
    except PeriodError as exc:
        st.sidebar.error(f"{exc}. Showing {fallback} instead.")
        return preset_range(DEFAULT_PRESET, now)
    qp["from"], qp["to"] = s.isoformat(timespec="minutes"), e.isoformat(timespec="minutes")
    return tr


def _two_dates(picked: object, fallback: date) -> tuple[date, date]:
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked[0], picked[1]
    # mid-selection the widget holds one date, and none once cleared: show that one day
    st.sidebar.info("Pick an end date.")
    if isinstance(picked, date):
        return picked, picked
    one = picked[0] if isinstance(picked, tuple) and picked else fallback
    return one, one


def _minute(t: time) -> time:
    return t.replace(second=0, microsecond=0, tzinfo=None)


def _at(d: date, t: time | None, tz: tzinfo) -> datetime:
    """The instant a viewer in ``tz`` means by date ``d`` at ``t``, in UTC."""
    return datetime.combine(d, t or time(0)).replace(tzinfo=tz).astimezone(UTC)
