"""Per-run context for pages: the runtime, the apps this user may see, the footer."""

from __future__ import annotations

import streamlit as st

from analytics import access
from analytics.cache import UpstreamError
from analytics.catalog import App, CatalogError
from analytics.runtime import Runtime, get_runtime
from analytics.settings import SettingsError
from analytics.ui.fmt import age, clock

APP_PARAM = "app"
ALL_APPS = "all"


def runtime() -> Runtime:
    """The shared runtime; a configuration error stops the page with its message."""
    try:
        return get_runtime()
    except (CatalogError, SettingsError) as exc:
        st.error(f"Configuration error — {exc}")
        st.stop()
        raise  # unreachable: st.stop() raises


def visible_apps(rt: Runtime) -> list[App]:
    """The apps the signed-in user may see (see :mod:`analytics.access`)."""
    return access.filter_apps(rt.catalog.apps)


def app_picker(apps: list[App], allow_all: bool = True, key: str = "app_picker") -> list[App]:
    """Sidebar selector bound to ``?app=``; returns the chosen apps (all when "all")."""
    if not apps:
        st.warning("Your account may not see any application. Ask an admin for access.")
        st.stop()
    ids = [a.id for a in apps]
    options = ([ALL_APPS] if allow_all else []) + ids
    wanted = st.query_params.get(APP_PARAM, options[0])
    index = options.index(wanted) if wanted in options else 0
    names = {a.id: a.display_name for a in apps} | {ALL_APPS: "All applications"}
    choice = st.sidebar.selectbox("Application", options, index=index, key=key,
                                  format_func=lambda i: names[i])
    st.query_params[APP_PARAM] = choice
    return apps if choice == ALL_APPS else [a for a in apps if a.id == choice]


def show_upstream_error(exc: UpstreamError) -> None:
    st.error(f"The data source did not answer and nothing is cached yet: {exc}. "
             "The page retries on the next refresh.")


def freshness(fetched_at: float, stale: bool, error: str | None) -> None:
    """The "data as of" line, and a banner when the value was served stale."""
    if stale:
        st.warning(f"Showing cached data as of {clock(fetched_at)} ({age(_now() - fetched_at)} "
                   f"old): the latest refresh failed — {error}", icon="⚠️")
    else:
        st.caption(f"Data as of {clock(fetched_at)}")


def footer(rt: Runtime) -> None:
    snap = rt.cache.snapshot()
    calls = sum(snap["aws_calls"].values())
    st.divider()
    st.caption(
        f"Backend: **{rt.backend.describe()}** · cache hits {snap['hits']}, misses "
        f"{snap['misses']}, stale serves {snap['stale']} · AWS API calls this process: {calls}"
    )


def _now() -> float:
    import time

    return time.time()
