"""Who may see which application — enforced in the data layer, not only in the widgets.

The Streamlit gate (Home.py) sets the signed-in :class:`Principal` at the start of every script
run; the script thread's context carries it into every data-layer call of that run. Every query
entry point filters by it, so editing ``?app=`` in the URL can never reveal another app's data.
No principal at all means a trusted process (CLI, bench, tests of the data layer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from analytics.catalog import App

ROLES = ("admin", "viewer")


class AccessDenied(PermissionError):
    """The signed-in user may not see this application."""


@dataclass(frozen=True)
class Principal:
    username: str
    role: str = "viewer"
    apps: frozenset[str] | None = None  # None: every app of the catalog

    def may_see(self, app_id: str) -> bool:
        return self.apps is None or app_id in self.apps


#: A signed-out visitor: sees nothing.
ANONYMOUS = Principal("", "viewer", frozenset())

_current: ContextVar[Principal | None] = ContextVar("principal", default=None)


def set_principal(principal: Principal | None) -> None:
    """Bind the principal for the rest of this thread's script run."""
    _current.set(principal)


def current_principal() -> Principal | None:
    return _current.get()


def allowed(app_id: str) -> bool:
    p = _current.get()
    return p is None or p.may_see(app_id)


def filter_apps(apps: Iterable[App]) -> list[App]:
    """The subset of ``apps`` the current principal may see."""
    return [a for a in apps if allowed(a.id)]


def filter_ids(app_ids: Iterable[str]) -> list[str]:
    return [a for a in app_ids if allowed(a)]


def require(app_id: str) -> None:
    """Raise :class:`AccessDenied` unless the current principal may see ``app_id``."""
    if not allowed(app_id):
        raise AccessDenied(f"you may not see application {app_id!r}")


def require_all(app_ids: Sequence[str]) -> None:
    for a in app_ids:
        require(a)
