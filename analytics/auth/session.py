"""Sign-in decisions and the session -> principal rule, free of Streamlit so they are unit-tested.

The session keys are the ones streamlit-authenticator leaves after a login
(``authentication_status``, ``username``, ``name``, ``email``, ``roles``) plus ``allowed_apps``
(a list of app ids, or None for every app). Streamlit's session state lives on the server, so
trusting it is sound; what is not trusted is anything the browser sends (query parameters, page
paths). :func:`principal_from_session` fails closed: anything unexpected is ANONYMOUS or a viewer
of nothing.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from analytics.auth.audit import audit
from analytics.auth.client import UNKNOWN_CLIENT
from analytics.auth.credentials import (
    ALL_APPS,
    Credentials,
    User,
    normalize_username,
    verify_password,
)
from analytics.auth.lockout import THROTTLE, AttemptLimiter, Budget, Refusal, format_wait
from analytics.auth.sso import Grant
from analytics.core.access import ANONYMOUS, Principal

AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles", "allowed_apps")
GENERIC_FAILURE = "Wrong username or password."
#: Password checks per (username, client address) per window: the lock an attacker hits first.
PER_USER_CLIENT = 5
#: Per username over every client not known for it: locking a user out takes several addresses.
PER_USER = 10
#: Failed checks per client address over every username: one address cannot spray names.
PER_CLIENT = 20
#: bcrypt checks running at once in this process (one per core), so guessing from many
#: sessions queues behind real sign-ins instead of taking every core.
CHECK_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
#: How long an attempt waits for a free slot before "busy, try again".
CHECK_QUEUE_S = 10.0


@dataclass(frozen=True)
class SignInResult:
    ok: bool
    user: User | None = None
    message: str = ""  # what the login form shows; never says whether the name exists
    locked_for: float = 0.0


def budgets(name: str, client: str, *, throttle: AttemptLimiter) -> list[Budget]:
    """The budgets one attempt is charged to (see docs/security.md for the numbers' reasons)."""
    out = [Budget(f"user:{name}|client:{client}", PER_USER_CLIENT)]
    if not throttle.succeeded_recently(f"known:{name}|client:{client}"):
        out.append(Budget(f"user:{name}", PER_USER))
    out.append(Budget(f"client:{client}", PER_CLIENT, reset_on_success=False))
    return out


def _refused(name: str, client: str, refusal: Refusal) -> SignInResult:
    if refusal.in_flight:
        audit("sign_in", user=name, outcome="locked", detail=f"checks in flight ({client})")
        return SignInResult(False, message=(
            "Another sign-in for this username is being checked. Try again in a moment."))
    audit("sign_in", user=name, outcome="locked",
          detail=f"{int(refusal.wait_s)} s of lock left on {refusal.key.partition(':')[0]}"
                 f" ({client})")
    whom = ("from your network address" if refusal.key.startswith("client:")
            else "for this username")
    return SignInResult(False, message=(
        f"Too many failed sign-ins {whom}. Try again in {format_wait(refusal.wait_s)}."),
        locked_for=refusal.wait_s)


def sign_in(creds: Credentials, username: str, password: str, *, client: str = UNKNOWN_CLIENT,
            throttle: AttemptLimiter = THROTTLE,
            slots: threading.BoundedSemaphore | threading.Semaphore = CHECK_SLOTS,
            queue_s: float = CHECK_QUEUE_S) -> SignInResult:
    """Check one password attempt: a slot in every budget first, then bcrypt, then settle.

    The slot is taken before the hash is checked, so however many sessions send at once, a
    budget of 5 runs at most 5 checks; the 6th is refused without any bcrypt work.
    """
    name = normalize_username(username or "")
    if not name or not password:
        return SignInResult(False, message="Enter your username and password.")
    got = throttle.reserve(budgets(name, client, throttle=throttle))
    if isinstance(got, Refusal):
        return _refused(name, client, got)
    if not slots.acquire(timeout=queue_s):
        throttle.release(got)
        audit("sign_in", user=name, outcome="error", detail="every check slot busy")
        return SignInResult(False, message=(
            "The server is busy checking other sign-ins. Try again in a moment."))
    try:
        user = creds.get(name)
        ok = verify_password(password, user.password_hash if user else None)
    except BaseException:
        throttle.release(got)
        raise
    finally:
        slots.release()
    locked = throttle.settle(got, failed=not ok)
    if ok:
        throttle.note_success(f"known:{name}|client:{client}")
        audit("sign_in", user=name, outcome="success")
        return SignInResult(True, user)
    audit("sign_in", user=name, outcome="failure",
          detail="unknown user" if user is None else "wrong password")
    if locked:
        wait = throttle.lock_seconds
        audit("lockout", user=name, outcome="locked",
              detail=f"{', '.join(k.partition(':')[0] for k in locked)} full "
                     f"({client}), locked {int(wait)} s")
        return SignInResult(False, message=(
            f"{GENERIC_FAILURE} Too many failed sign-ins: this username is locked for "
            f"{format_wait(wait)}."), locked_for=wait)
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
