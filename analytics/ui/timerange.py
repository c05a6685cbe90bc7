"""The time-range picker: presets plus a custom range, kept in the URL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from analytics.core.periods import (
    DEFAULT_PRESET,
    PRESETS,
    PeriodError,
    TimeRange,
    make_range,
    preset_range,
)

CUSTOM = "custom"
LABELS = {
    "15m": "Last 15 minutes", "1h": "Last hour", "3h": "Last 3 hours", "12h": "Last 12 hours",
    "24h": "Last 24 hours", "7d": "Last 7 days", "14d": "Last 14 days", "30d": "Last 30 days",
    CUSTOM: "Custom range…",
}


def describe(tr: TimeRange) -> str:
    """One line saying what the page shows: range, bucket size and the comparison window."""
    name = "Custom range" if tr.label == CUSTOM else LABELS.get(tr.label, tr.label)
    bucket = f"{tr.period // 60}-minute" if tr.period < 3600 else f"{tr.period // 3600}-hour"
    return (f"{name} · {tr.start:%Y-%m-%d %H:%M} → {tr.end:%Y-%m-%d %H:%M} UTC · {bucket} "
            f"buckets · changes compare with the previous {_span(tr.seconds)}")


def _span(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def _parse_day(raw: str | None, fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(raw).astimezone(UTC) if raw else fallback
    except ValueError:
        return fallback


def time_range_picker(key: str = "range", *, now: datetime) -> TimeRange:
    """Sidebar picker bound to ``?range=`` (and ``?from=&to=`` for custom ranges)."""
    qp = st.query_params
    options = [*PRESETS, CUSTOM]
    wanted = qp.get("range", DEFAULT_PRESET)
    index = options.index(wanted) if wanted in options else options.index(DEFAULT_PRESET)
    choice = st.sidebar.selectbox("Time range", options, index=index, key=f"{key}_preset",
                                  format_func=LABELS.__getitem__)
    qp["range"] = choice
    if choice != CUSTOM:
        for k in ("from", "to"):
            if k in qp:
                del qp[k]
        return preset_range(choice, now)
    start = _parse_day(qp.get("from"), now - timedelta(days=1))
    end = _parse_day(qp.get("to"), now)
    picked = st.sidebar.date_input("Dates (UTC)", (start.date(), end.date()),
                                   max_value=now.date(), key=f"{key}_dates")
    if isinstance(picked, tuple) and len(picked) == 2:
        d0, d1 = picked
    else:
        # mid-selection the widget holds one date, and none once cleared: show that one day
        st.sidebar.info("Pick an end date.")
        if not isinstance(picked, tuple):
            d0 = d1 = picked
        else:
            d0 = d1 = picked[0] if picked else start.date()
    t0 = st.sidebar.time_input("From (UTC)", start.time().replace(second=0, microsecond=0),
                               key=f"{key}_t0")
    t1 = st.sidebar.time_input("To (UTC)", end.time().replace(second=0, microsecond=0),
                               key=f"{key}_t1")
    s = datetime.combine(d0, t0 or time(0), UTC)
    e = datetime.combine(d1, t1 or time(0), UTC)
    try:
        tr = make_range(s, e, now=now, label=CUSTOM)
    except PeriodError as exc:
        st.sidebar.error(f"{exc}. Showing the last {DEFAULT_PRESET} instead.")
        return preset_range(DEFAULT_PRESET, now)
    qp["from"], qp["to"] = s.isoformat(timespec="minutes"), e.isoformat(timespec="minutes")
    return tr
