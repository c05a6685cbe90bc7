"""The session side of the login gate: the request's cookie in, the session re-checked, the
cookie out.

A session signed in with a password or a cookie is re-checked on every run against the users
file as it is now and the deny-list of signed-out sessions (:mod:`analytics.auth.revocation`);
the re-login cookie is our own HS256 token (:mod:`analytics.auth.cookie`), read from the
session's first HTTP request and written or deleted by a browser component. Decisions stay in
:mod:`analytics.auth`; this module moves them in and out of ``st.session_state``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import extra_streamlit_components as stx
import streamlit as st

from analytics.auth import cookie
from analytics.auth.audit import audit
from analytics.auth.client import client_address
from analytics.auth.config import AuthConfig
from analytics.auth.credentials import User
from analytics.auth.session import user_session
from analytics.sources import Runtime

log = logging.getLogger(__name__)

METHOD = "_auth_method"  # password | cookie | sso
PENDING_COOKIE = "_auth_set_cookie"
PENDING_DELETE = "_auth_delete_cookie"
COOKIE_WRITE_RUNS = 5  # runs a cookie write is re-rendered while its confirmation is awaited
ERROR = "_auth_error"
SID = "_auth_sid"  # the session id the cookie names (what sign-out revokes)
VER = "_auth_ver"  # the credential version the session was granted with
EXP = "_auth_exp"  # when the session's cookie expires (epoch s): the deny-list keeps it so long
COOKIE_VALUE = "_auth_cookie_value"  # the signed token a pending write puts in the browser
SECURE = "_auth_cookie_secure"
REJECTED = "_auth_rejected_cookie"  # the request's cookie, once refused (see cookie_sign_in)
LIBRARY_KEYS = ("authentication_status", "username", "name", "email", "roles")


def request() -> tuple[Mapping[str, str], Mapping[str, str], str | None]:
    """``(cookies, headers, peer address)`` of the session's initial request.

    Streamlit answers None for a loopback peer (and outside a browser session), read here as
    127.0.0.1 so a reverse proxy on the same host can be listed as trusted.
    """
    ctx = st.context
    try:
        cookies = dict(ctx.cookies)
        headers = {k.lower(): v for k, v in ctx.headers.items()}
    except Exception:  # AppTest's mocks: no request at all
        cookies, headers = {}, {}
    return cookies, headers, ctx.ip_address or "127.0.0.1"


def client(cfg: AuthConfig) -> str:
    _, headers, peer = request()
    return client_address(peer, headers.get("x-forwarded-for"), trusted=cfg.trusted_proxies)


def secure_request() -> bool:
    """True when the browser reached us over HTTPS (the ALB says so in X-Forwarded-Proto)."""
    _, headers, _ = request()
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"


def now() -> float:
    return time.time()


#: How long another task may keep serving a session signed out elsewhere (the deny-list answer
#: is cached that long); a sign-out on this task forgets it at once.
REVOCATION_TTL_S = 5.0


def revoked(rt: Runtime, sid: str, *, if_unknown: bool) -> bool:
    """Ask the deny-list; when it cannot answer, ``if_unknown`` decides (and the log says so).

    A running session stays on through a deny-list outage (it was checked when it started);
    a cookie sign-in does not (the visitor gets the form).
    """
    try:  # through the cache: a deny-list that hangs is waited for once, not on every run
        return bool(rt.cache.get("sessions", sid, lambda: rt.security.revoked.is_revoked(sid),
                                 ttl=REVOCATION_TTL_S).value)
    except Exception as exc:
        log.warning("revoked sessions unavailable (%s); %s", type(exc).__name__,
                    "refusing the cookie" if if_unknown else "keeping the running session")
        return if_unknown


def revocation_reason(cfg: AuthConfig, rt: Runtime, *, username: str, sid: object,
                       version: object, if_unknown: bool = False) -> str | None:
    """Why a password or cookie session may not go on (None: it may)."""
    user = cfg.credentials.get(username)
    if user is None:
        return "your account was removed"
    if not isinstance(sid, str) or not isinstance(version, str):
        return "the session carries no session id"
    if cookie.credential_version(user) != version:
        return "your password, role or apps changed"
    if revoked(rt, sid, if_unknown=if_unknown):
        return "this session was signed out"
    return None


def recheck(cfg: AuthConfig, rt: Runtime) -> None:
    """Every run of a signed-in session: is its user still there, unchanged, not signed out?

    SSO sessions are the identity provider's (Streamlit's identity cookie, [sso_roles]); every
    other session is checked against the users file as it is now, so removing a user, changing
    a password, a role or the apps ends that user's open sessions at their next run.
    """
    state = st.session_state
    if state.get(METHOD) == "sso":
        return
    username = str(state.get("username") or "")
    reason = revocation_reason(cfg, rt, username=username, sid=state.get(SID),
                                version=state.get(VER))
    if reason is None:
        return
    audit("sign_out", user=username or "(none)", outcome="denied",
          method=state.get(METHOD) or "session", detail=reason)
    clear_session()
    state[PENDING_DELETE] = COOKIE_WRITE_RUNS
    state[ERROR] = f"You were signed out: {reason}. Sign in again."


def cookie_writes(cfg: AuthConfig) -> None:
    """Write or delete the re-login cookie, and keep doing so until the browser confirms.

    The cookie is written by a component in the browser. Another component (the cookie
    reader) can trigger a rerun before that one has loaded; a one-shot render would then be
    unmounted unexecuted. So the write is rendered again on the following runs until its
    component reports back (its value, kept under the widget keys "set" / "delete", turns
    True), at most ``COOKIE_WRITE_RUNS`` runs. No st.rerun() here: that would drop the write.
    The component writes ``document.cookie``, so the cookie cannot be HttpOnly; it is
    ``SameSite=Strict`` and ``Secure`` whenever the page came over HTTPS.
    """
    state = st.session_state
    manager = stx.CookieManager(key="init")
    if int(state.get(PENDING_DELETE) or 0) > 0:
        pending, widget = PENDING_DELETE, "delete"
        with contextlib.suppress(KeyError):  # not listed by the component: still sent
            manager.delete(cfg.cookie.name, key="delete")
    elif int(state.get(PENDING_COOKIE) or 0) > 0 and state.get(COOKIE_VALUE):
        pending, widget = PENDING_COOKIE, "set"
        expires = datetime.fromtimestamp(float(state.get(EXP) or now()), UTC)
        manager.set(cfg.cookie.name, str(state[COOKIE_VALUE]), key="set", expires_at=expires,
                    secure=bool(state.get(SECURE)) or None, same_site="strict")
    else:
        state.pop(PENDING_COOKIE, None)
        return
    runs_left = int(state.get(pending) or 0)
    state[pending] = 0 if state.get(widget) is True else runs_left - 1
    if not state[pending]:
        state.pop(pending, None)
        if pending == PENDING_COOKIE:
            state.pop(COOKIE_VALUE, None)


def clear_session() -> None:
    """Forget everything this session held; keep ``logout`` so the old cookie is not reused."""
    for k in list(st.session_state.keys()):
        del st.session_state[k]
    for k in LIBRARY_KEYS:
        st.session_state[k] = None
    st.session_state["logout"] = True


def start_session(user: User, *, method: str, token: cookie.SessionToken) -> None:
    state = st.session_state
    state.update(user_session(user))
    state[METHOD] = method
    state[SID] = token.sid
    state[VER] = token.version
    state[EXP] = token.expires_at


def cookie_sign_in(cfg: AuthConfig, rt: Runtime) -> None:
    """Re-login from the signed cookie (a reload or a new tab), before st.navigation.

    A cookie that is malformed, forged, signed with another algorithm, expired, revoked, or
    made for credentials that changed since is treated as no cookie and deleted.
    """
    state = st.session_state
    if state.get("logout") or state.get(PENDING_DELETE):
        return
    cookies, _, _ = request()
    raw = cookies.get(cfg.cookie.name)
    # The request's cookies are those of the session's first request: a cookie refused once
    # is still there on every later run of the session, and is not judged (or deleted) again.
    if raw is None or raw == state.get(REJECTED):
        return
    token = cookie.read(raw, key=cfg.cookie.key, now=now())
    reason = ("the cookie is not a valid session" if token is None else revocation_reason(
        cfg, rt, username=token.username, sid=token.sid, version=token.version,
        if_unknown=True))
    user = cfg.credentials.get(token.username) if token is not None else None
    if reason is not None or token is None or user is None:
        audit("sign_in", user=token.username if token else "(cookie)", outcome="denied",
              method="cookie", detail=reason or "unknown user")
        state[REJECTED] = raw
        state[PENDING_DELETE] = COOKIE_WRITE_RUNS
        return
    start_session(user, method="cookie", token=token)
    audit("sign_in", user=user.username, outcome="success", method="cookie")
