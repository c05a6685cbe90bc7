"""The viewer's time zone: the browser's (``st.context.timezone``) unless ``?utc=1`` asks for UTC.

Home.py picks it once per run, before the page, with a sidebar toggle kept in the URL (a shared
link shows the same clock times); pages read it with :func:`current_zone` and pass it to the
captions, tables and figures they draw. Stored data, cache keys and CSV files stay in UTC.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, tzinfo

import streamlit as st

from analytics.core.fmt import zone, zone_name

UTC_PARAM = "utc"
_current: ContextVar[tzinfo] = ContextVar("display_zone", default=UTC)


def browser_zone() -> tzinfo:
    """The zone the browser reports (UTC when it reports none or an unknown one)."""
    return zone(st.context.timezone)


def zone_picker(*, key: str = "qp_utc") -> tzinfo:
    """Sidebar toggle "Times in UTC" bound to ``?utc=1``; sets and returns this run's zone."""
    browser = browser_zone()
    on = str(st.query_params.get(UTC_PARAM, "")).lower() in ("1", "true", "yes", "on")
    if browser is UTC:
        chosen: tzinfo = UTC
        if on:
            st.query_params[UTC_PARAM] = "1"
    else:
        utc = st.sidebar.toggle("Times in UTC", value=on, key=key,
                                help=f"Off: your browser's zone, {zone_name(browser)}.")
        if utc:
            st.query_params[UTC_PARAM] = "1"
        elif UTC_PARAM in st.query_params:
            del st.query_params[UTC_PARAM]
        chosen = UTC if utc else browser
    _current.set(chosen)
    return chosen


def current_zone() -> tzinfo:
    """This run's display zone (UTC outside a run that picked one)."""
    return _current.get()
