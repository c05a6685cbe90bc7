"""Sign-in decisions and the session -> principal rule, free of Streamlit so they are unit-tested.

The session keys are the ones streamlit-authenticator leaves after a login
(``authentication_status``, ``username``, ``name``, ``email``, ``roles``) plus ``allowed_apps``
(a list of app ids, or None for every app). Streamlit's session state lives on the server, so
trusting it is sound; what is not trusted is anything the browser sends (query parameters, page
paths). :func:`principal_from_session` fails closed: anything unexpected is ANONYMOUS or a viewer
of nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from analytics.auth.audit import audit
from analytics.auth.credentials import (
    ALL_APPS,
    Credentials,
    User,
    normalize_username,
    verify_password,
)
from analytics.auth.lockout import THROTTLE, LoginThrottle, format_wait
from analytics.auth.sso import Grant
from analytics.core.access import ANONYMOUS, Principal

AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles", "allowed_apps")
GENERIC_FAILURE = "Wrong username or password."


@dataclass(frozen=True)
class SignInResult:
    ok: bool
    user: User | None = None
    message: str = ""  # what the login form shows; never says whether the name exists
    locked_for: float = 0.0


def sign_in(creds: Credentials, username: str, password: str,
            *, throttle: LoginThrottle = THROTTLE) -> SignInResult:
    """Check one password attempt: lockout first (no bcrypt while locked), then the hash."""
    name = normalize_username(username or "")
    if not name or not password:
        return SignInResult(False, message="Enter your username and password.")
    wait = throttle.locked_for(name)
    if wait > 0:
        audit("sign_in", user=name, outcome="locked", detail=f"{int(wait)} s of lock left")
        return SignInResult(False, message=(
            f"Too many failed sign-ins for this username. Try again in {format_wait(wait)}."),
            locked_for=wait)
    user = creds.get(name)
    if verify_password(password, user.password_hash if user else None):
        throttle.record_success(name)
        audit("sign_in", user=name, outcome="success")
        return SignInResult(True, user)
    engaged = throttle.record_failure(name)
    audit("sign_in", user=name, outcome="failure",
          detail="unknown user" if user is None else "wrong password")
    if engaged:
        audit("lockout", user=name, outcome="locked",
              detail=f"{throttle.max_failures} failures, locked {int(engaged)} s")
        return SignInResult(False, message=(
            f"{GENERIC_FAILURE} Too many failed sign-ins: this username is locked for "
            f"{format_wait(engaged)}."), locked_for=engaged)
    return SignInResult(False, message=GENERIC_FAILURE)


def session_values(username: str, *, name: str, role: str, apps: frozenset[str] | tuple[str, ...]
                   | None, email: str = "") -> dict[str, Any]:
    """The session keys a signed-in user gets (the same shape tests/helpers seeds)."""
    return {"authentication_status": True, "username": username, "name": name or username,
            "email": email or None, "roles": [role],
            "allowed_apps": None if apps is None else sorted(apps)}


def user_session(user: User) -> dict[str, Any]:
    return session_values(
        user.username, name=user.name, role=user.role, apps=user.apps, email=user.email
    )


def grant_session(username: str, name: str, grant: Grant) -> dict[str, Any]:
    return session_values(username, name=name, role=grant.role, apps=grant.apps, email=username)


class SessionState(Protocol):
    """What the principal is read from: ``st.session_state`` (keyed by ``str | int``) or a
    plain ``dict`` in tests, which ``Mapping[str, Any]`` cannot both accept (invariant keys)."""

    def get(self, key: str, /) -> Any: ...

    def __contains__(self, key: object, /) -> bool: ...


def principal_from_session(state: SessionState) -> Principal:
    """The principal for a session; ANONYMOUS unless it is positively signed in."""
    if state.get("authentication_status") is not True:
        return ANONYMOUS
    username = state.get("username")
    if not isinstance(username, str) or not username:
        return ANONYMOUS
    roles = state.get("roles") or []
    role = "admin" if isinstance(roles, list | tuple) and "admin" in roles else "viewer"
    if "allowed_apps" not in state:
        return Principal(username, role, frozenset())
    apps = state.get("allowed_apps")
    if apps is None:
        return Principal(username, role, None)
    if isinstance(apps, str):
        apps = [apps]
    if not isinstance(apps, list | tuple | set | frozenset):
        return Principal(username, role, frozenset())
    if ALL_APPS in apps:
        return Principal(username, role, None)
    return Principal(username, role, frozenset(str(a) for a in apps))
