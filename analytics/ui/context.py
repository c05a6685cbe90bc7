"""Per-run context for pages: the runtime and the apps this user may see, picked in the sidebar."""

from __future__ import annotations

import streamlit as st

from analytics.core import access
from analytics.core.catalog import App, CatalogError
from analytics.core.settings import SettingsError
from analytics.sources import Runtime, get_runtime

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
    """The apps the signed-in user may see (see :mod:`analytics.core.access`)."""
    return access.filter_apps(rt.catalog.apps)


def app_picker(apps: list[App], *, allow_all: bool = True, key: str = "app_picker"
               ) -> list[App]:
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
