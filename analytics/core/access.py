"""Who may see which application — enforced in the data layer, not only in the widgets.

The Streamlit gate (Home.py) sets the signed-in :class:`Principal` at the start of every script
run; the script thread's context carries it into every data-layer call of that run. Every query
entry point filters by it, so editing ``?app=`` in the URL can never reveal another app's data.

No principal at all means a trusted process (CLI, bench, tests of the data layer) — but only
outside a Streamlit script run. A fragment rerun (``@st.fragment(run_every=...)``) may run on a
fresh thread that never executed Home.py, so its context holds no principal; for that case the
UI registers a *fallback resolver* (:func:`set_fallback_resolver`) that answers from the
session, and answers :data:`ANONYMOUS` when the session has none. Unknown means "sees nothing".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from analytics.core.catalog import App, Catalog

ROLES = ("admin", "viewer")


class AccessDenied(PermissionError):
    """The signed-in user may not see this application (or this admin-only part)."""


@dataclass(frozen=True)
class Principal:
    username: str
    role: str = "viewer"
    apps: frozenset[str] | None = None  # None: every app of the catalog

    def may_see(self, app_id: str) -> bool:
        return self.apps is None or app_id in self.apps

    @property
    def signed_in(self) -> bool:
        return bool(self.username)


#: A signed-out visitor: sees nothing.
ANONYMOUS = Principal("", "viewer", frozenset())

_current: ContextVar[Principal | None] = ContextVar("principal", default=None)
_fallback: Callable[[], Principal | None] | None = None


def set_principal(principal: Principal | None) -> None:
    """Bind the principal for the rest of this thread's script run."""
    _current.set(principal)


def set_fallback_resolver(resolver: Callable[[], Principal | None] | None) -> None:
    """Install the function asked when this context has no principal (see module doc).

    It returns the principal of the running Streamlit session (ANONYMOUS when signed out), or
    None outside a script run — a trusted process.
    """
    global _fallback
    _fallback = resolver


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Bind ``principal`` for the calls inside the block, then restore what was bound.

    For servers whose worker threads (or tasks) serve many callers: unlike
    :func:`set_principal`, nothing is left behind for the next request on the same thread.
    """
    token = _current.set(principal)
    try:
        yield
    finally:
        _current.reset(token)


def current_principal() -> Principal | None:
    p = _current.get()
    if p is None and _fallback is not None:
        p = _fallback()
    return p


def allowed(app_id: str) -> bool:
    p = current_principal()
    return p is None or p.may_see(app_id)


def filter_apps(apps: Iterable[App]) -> list[App]:
    """The subset of ``apps`` the current principal may see."""
    p = current_principal()
    return [a for a in apps if p is None or p.may_see(a.id)]


def filter_ids(app_ids: Iterable[str]) -> list[str]:
    p = current_principal()
    return [a for a in app_ids if p is None or p.may_see(a)]


def require(app_id: str) -> None:
    """Raise :class:`AccessDenied` unless the current principal may see ``app_id``."""
    if not allowed(app_id):
        raise AccessDenied(f"you may not see application {app_id!r}")


def visible_app(catalog: Catalog, app_id: str) -> App:
    """The catalog's app ``app_id`` if the current principal may see it.

    :class:`AccessDenied` comes first, so an unknown id and a hidden one are told apart only to
    those who may see every app; an unknown id is a :class:`ValueError` naming the known ones.
    """
    require(app_id)
    try:
        return catalog.get(app_id)
    except KeyError:
        raise ValueError(f"unknown application {app_id!r}; the catalog has "
                         f"{catalog.ids()}") from None


def require_all(app_ids: Sequence[str]) -> None:
    for a in app_ids:
        require(a)


def has_role(role: str) -> bool:
    """Whether the current principal has ``role`` (a trusted process has every role)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {ROLES}")
    p = current_principal()
    return p is None or (p.signed_in and p.role == role)


def require_role(role: str) -> None:
    """Raise :class:`AccessDenied` unless the current principal has ``role``."""
    if not has_role(role):
        raise AccessDenied(f"this part is shown to the {role!r} role only")
