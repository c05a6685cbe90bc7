"""Streamlit helpers of the Realtime page: the refresh picker and the live panel.

The page wraps :func:`render_live` in ``st.fragment(run_every=...)``; the function itself holds
all the drawing logic so tests can call it directly (under AppTest the fragment timer never
fires). Every refresh reads through :func:`analytics.realtime.service.realtime_view`, i.e. the
shared cache with the 2-second ``realtime`` TTL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

import streamlit as st

from analytics.core.cache import UpstreamError
from analytics.core.clock import utc
from analytics.core.fmt import age, when, zone_name
from analytics.custom.service import list_custom_metrics
from analytics.figures.realtime import panel_figure
from analytics.metrics.queries import BASIC_STATS
from analytics.realtime.service import MAX_CHARTS, MAX_SERIES, Panel, RealtimeView, realtime_view
from analytics.sources import Runtime
from analytics.ui.frame import freshness, show_upstream_error
from analytics.ui.plots import show_figure
from analytics.ui.timerange import url_note

EVERY_PARAM = "every"
#: Refresh choices (URL value -> seconds; None = no automatic refresh).
REFRESH_OPTIONS: dict[str, float | None] = {"off": None, "2s": 2.0, "5s": 5.0, "10s": 10.0,
                                            "30s": 30.0}
DEFAULT_EVERY = "5s"
AUTO = "auto"
STAT_OPTIONS = [AUTO, *BASIC_STATS, "p50", "p90", "p95", "p99"]
_LABELS = {"off": "Off", "2s": "2 s", "5s": "5 s", "10s": "10 s", "30s": "30 s"}


def refresh_picker(*, key: str = "rt_every") -> float | None:
    """Sidebar choice of the refresh interval, kept in ``?every=``; returns seconds or None.

    A value it cannot honour (``?every=1s``) is replaced by the default with a note that stays
    until the viewer picks an interval.
    """
    wanted = st.query_params.get(EVERY_PARAM, DEFAULT_EVERY)
    options = list(REFRESH_OPTIONS)
    bad = None
    if wanted not in REFRESH_OPTIONS:
        bad = (f"?{EVERY_PARAM}={wanted[:20]} is not one of {', '.join(options)}; "
               f"refreshing every {_LABELS[DEFAULT_EVERY]}.")
        wanted = DEFAULT_EVERY
    note = f"{key}_note"
    choice = st.sidebar.selectbox("Refresh every", options, index=options.index(wanted),
                                  key=key, format_func=_LABELS.__getitem__,
                                  on_change=lambda: st.session_state.pop(note, None))
    url_note(note, bad)
    st.query_params[EVERY_PARAM] = choice
    return REFRESH_OPTIONS[choice]


def stat_picker(*, key: str = "rt_stat") -> str | None:
    """Sidebar choice of the custom metrics' statistic; None = each metric's default."""
    choice = st.sidebar.selectbox(
        "Custom metric statistic", STAT_OPTIONS, key=key,
        help="auto: Sum for counts, Average for gauges (such as active users) and other units")
    return None if choice == AUTO else choice


def _draw_panels(panels: list[Panel], view: RealtimeView, *, per_row: int,
                 tz: tzinfo) -> None:
    for row in range(0, len(panels), per_row):
        cols = st.columns(per_row)
        for col, panel in zip(cols, panels[row:row + per_row], strict=False):
            with col:
                if panel.empty:
                    st.caption(f"**{panel.title}** — no datapoint in the last 15 minutes")
                else:
                    show_figure(panel_figure(panel, view, tz=tz), key=f"rt_{panel.key}",
                                    config={"displayModeBar": False})
                if panel.hidden_series:
                    st.caption(f"The {len(panel.lines)} busiest dimension sets are drawn; "
                               f"{panel.hidden_series:,} more had data. Narrow them with "
                               "*Dimension sets containing* in the sidebar.")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def freshness_row(view: RealtimeView, *, now: float) -> None:
    """Last datapoint age and the measured ingest lag of the custom metrics."""
    latest = view.latest
    ago = latest.age_s(now)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Last datapoint", "none yet" if ago is None else f"{age(ago)} ago", border=True,
              help="Newest custom-metric timestamp of this app, measured when drawn")
    c2.metric("Ingest lag p50", _ms(latest.lag_p50_ms), border=True,
              help="receivedAt − timestamp over the window: time from the app's clock to the "
                   "ingest endpoint accepting the datapoint")
    c3.metric("Ingest lag p95", _ms(latest.lag_p95_ms), border=True)
    c4.metric("Datapoints (15 min)", f"{latest.points:,}", border=True,
              help=f"{len(latest.metrics)} custom metrics")


def series_pickers(rt: Runtime, app_id: str, *, key: str = "rt") -> tuple[list[str], str]:
    """Sidebar: custom metrics to draw beyond the busiest, and a dimension-set filter."""
    names = list_custom_metrics(rt, app_id)
    more = st.sidebar.multiselect(
        "More custom metrics", names, key=f"{key}_more",
        help=f"The {MAX_CHARTS} busiest custom metrics are always drawn; add others here.")
    dims = st.sidebar.text_input(
        "Dimension sets containing", key=f"{key}_dims", max_chars=100,
        help=f"Each chart draws its {MAX_SERIES} busiest dimension sets; type part of one "
             "(e.g. Plan=pro) to draw those that match instead.")
    return more, dims.strip()


def render_live(rt: Runtime, app_id: str, *, stat: str | None = None,
                now: float | None = None, tz: tzinfo = UTC, more: Sequence[str] = (),
                dims_filter: str = "") -> RealtimeView | None:
    """Draw one refresh of the Realtime panel (the fragment's body); returns what it drew.

    One ``now`` (the runtime's clock unless given) for the window, the ages and the caption;
    times shown in ``tz``.
    """
    now = rt.clock() if now is None else now
    try:
        view = realtime_view(rt, app_id, stat=stat, now=utc(lambda: now), more=more,
                             dims_filter=dims_filter)
    except UpstreamError as exc:
        show_upstream_error(exc)
        return None
    freshness_row(view, now=now)
    st.subheader("Service metrics")
    _draw_panels(view.service, view, per_row=2, tz=tz)
    st.subheader("Custom metrics")
    if not view.custom:
        st.info(f"{view.app.display_name} has not sent any custom metric yet. See "
                "docs/realtime.md for how an app records one.")
    _draw_panels(view.custom, view, per_row=2, tz=tz)
    if view.hidden_metrics:
        st.caption(f"{len(view.hidden_metrics):,} more custom metrics with fewer datapoints "
                   "are not drawn; add them with *More custom metrics* in the sidebar.")
    freshness(view)
    drawn = datetime.fromtimestamp(now, UTC)
    st.caption(f"Window {when(view.start, tz, '%H:%M')} → {when(view.end, tz, '%H:%M')} · "
               f"drawn at {when(drawn, tz, '%H:%M:%S')} {zone_name(tz)}")
    return view


def ingest_caption(rt: Runtime) -> None:
    """Where apps send custom metrics (the local endpoint on the local backend)."""
    from analytics.local.live_services import ingest_server

    server = ingest_server(rt)
    if server is not None:
        st.caption(f"Local ingest endpoint: `POST {server.url}` (bearer token: the app's own, "
                   "shown once when made; a new one: `python -m analytics.cli.tokens rotate "
                   "<app>`)")
