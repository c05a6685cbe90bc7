"""The Streamlit side of the login gate: cookie re-login, the login form, SSO, sign-out, pages.

Home.py calls :func:`gate` before it builds ``st.navigation``, on every run, so the pages a
visitor can reach are decided before any page runs: signed out, the navigation holds only the
login page (under every page's URL, so a deep link survives signing in); signed in, the pages
of the user's role. Decisions (lockout, password check, SSO claim mapping, the session ->
principal rule) live in :mod:`analytics.auth`; this module only moves them in and out of
``st.session_state`` and draws.

Why our own form and cookie instead of streamlit-authenticator's: the attempt has to be
reserved *before* the password is checked, and the session the cookie names has to be
revocable (a session id, a credential version, a deny-list), and the library has no hook for
either. The form keeps the library's key and labels (``FormSubmitter:Login-Login``); the cookie
is our own HS256 token (:mod:`analytics.auth.cookie`), written and deleted by the same browser
component the library uses, and read server-side from the request's cookies.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import extra_streamlit_components as stx
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from analytics.auth import cookie, sso
from analytics.auth.audit import audit
from analytics.auth.client import client_address
from analytics.auth.config import AuthConfig, AuthConfigError, default_credentials_path
from analytics.auth.config import load_auth_config as _load_auth_config
from analytics.auth.credentials import CredentialsError, User
from analytics.auth.pages import LOGIN_PAGE, PAGES, pages_for
from analytics.auth.session import (
    grant_session,
    principal_from_session,
    sign_in,
    user_session,
)
from analytics.core import access
from analytics.core.access import ANONYMOUS, Principal
from analytics.core.catalog import CatalogError
from analytics.core.settings import SettingsError
from analytics.sources import Runtime, get_runtime
from analytics.ui.context import runtime

log = logging.getLogger(__name__)

USER_KEY = "login_username"
PASS_KEY = "login_password"
FORM_KEY = "Login"  # with the "Login" button: AppTest key FormSubmitter:Login-Login
SIGN_OUT_KEY = "auth_sign_out"
_METHOD = "_auth_method"  # password | cookie | sso | (absent: seeded by tests/helpers)
_PENDING_COOKIE = "_auth_set_cookie"
_PENDING_DELETE = "_auth_delete_cookie"
_COOKIE_WRITE_RUNS = 5  # runs a cookie write is re-rendered while its confirmation is awaited
_SIGN_OUT = "_auth_sign_out_requested"
_ERROR = "_auth_error"
_SSO_DENIED = "_auth_sso_denied"
_PRINCIPAL = "_auth_principal"
_SID = "_auth_sid"  # the session id the cookie names (what sign-out revokes)
_VER = "_auth_ver"  # the credential version the session was granted with
_EXP = "_auth_exp"  # when the session's cookie expires (epoch s): the deny-list keeps it so long
_COOKIE_VALUE = "_auth_cookie_value"  # the signed token a pending write puts in the browser
_SECURE = "_auth_cookie_secure"
_REJECTED = "_auth_rejected_cookie"  # the request's cookie, once refused (see _cookie_sign_in)
_LIBRARY_KEYS = ("authentication_status", "username", "name", "email", "roles")
NOT_CONFIGURED = "Sign-in is not configured; see the server log."


# -- principal outside Home.py's thread (fragment reruns) ---------------------------------------
def _session_principal() -> Principal | None:
    """Fallback for :mod:`analytics.core.access`: inside a script run, the session's principal."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None  # not a Streamlit run: a trusted process (CLI, bench)
    p = st.session_state.get(_PRINCIPAL)
    return p if isinstance(p, Principal) else ANONYMOUS


access.set_fallback_resolver(_session_principal)


# -- configuration ------------------------------------------------------------------------------
_cache: OrderedDict[tuple[object, ...], AuthConfig] = OrderedDict()
_cache_lock = threading.Lock()
_SECRET_TABLES = ("auth_cookie", "credentials", "auth", "sso_roles")


def _secrets() -> dict[str, Any]:
    """The auth tables of st.secrets (AppTest's ``at.secrets`` included); {} without a file."""
    try:
        data = st.secrets.to_dict()
    except FileNotFoundError:  # StreamlitSecretNotFoundError: no secrets.toml anywhere
        return {}
    except Exception as exc:  # a malformed file: say so instead of a traceback
        raise AuthConfigError(f".streamlit/secrets.toml cannot be read: {exc}") from exc
    return {k: data[k] for k in _SECRET_TABLES if k in data}


def load_config(rt: Runtime) -> AuthConfig:
    """The auth config for this runtime, rebuilt only when an input changed (secrets, file).

    The ``AUTH_*`` variables come from ``rt.settings.auth``; Streamlit's secrets are read on
    every run (each AppTest brings its own), so they are part of the cache key.
    Raises :class:`AuthConfigError` (or CredentialsError) with a message for the operator.
    """
    secrets_ = _secrets()
    settings = rt.settings
    path = default_credentials_path(settings.data_dir, settings.auth)
    mtime = path.stat().st_mtime_ns if path.is_file() else None
    key = (settings.backend, settings.data_dir, settings.auth,
           json.dumps(secrets_, sort_keys=True, default=str), mtime)
    with _cache_lock:
        cfg = _cache.get(key)
        if cfg is None:
            cfg = _load_auth_config(settings.backend, data_dir=settings.data_dir,
                                    secrets_=secrets_, auth=settings.auth)
            for w in cfg.warnings:
                log.warning("auth: %s", w)
            _cache[key] = cfg
            while len(_cache) > 8:
                _cache.popitem(last=False)
        return cfg


def _config_or_stop() -> AuthConfig:
    """The auth config, or a message that says nothing of it and stops the run.

    The detail (which file, which user, which field; never a line of the file) goes to the
    server log. Only the fixed advice of a refused cookie key, which holds no configuration
    value, is shown on the page as well.
    """
    rt = runtime()
    try:
        return load_config(rt)
    except (AuthConfigError, CredentialsError) as exc:
        log.error("sign-in is not configured: %s", exc)
        advice = f" {exc}" if isinstance(exc, AuthConfigError) and exc.public else ""
        st.error(NOT_CONFIGURED + advice, icon="🔒")
        st.stop()
        raise  # unreachable: st.stop() raises


# -- the request: what the browser sent with this session's connection -------------------------
def _request() -> tuple[Mapping[str, str], Mapping[str, str], str | None]:
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


def _client(cfg: AuthConfig) -> str:
    _, headers, peer = _request()
    return client_address(peer, headers.get("x-forwarded-for"), trusted=cfg.trusted_proxies)


def _secure_request() -> bool:
    """True when the browser reached us over HTTPS (the ALB says so in X-Forwarded-Proto)."""
    _, headers, _ = _request()
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"


# -- the gate -----------------------------------------------------------------------------------
def gate() -> Principal:
    """Decide who this run belongs to; ANONYMOUS unless positively signed in (fail closed)."""
    access.set_principal(ANONYMOUS)
    state = st.session_state
    state[_PRINCIPAL] = ANONYMOUS
    for k in _LIBRARY_KEYS:  # the shape streamlit-authenticator gives a fresh session
        state.setdefault(k, None)
    cfg = _config_or_stop()
    rt = runtime()
    if state.get(_SIGN_OUT):
        _sign_out(cfg, rt)
    if state.get("authentication_status") is True:
        _recheck(cfg, rt)
    if state.get("authentication_status") is not True:
        _cookie_sign_in(cfg, rt)
    if state.get(_PENDING_COOKIE) or state.get(_PENDING_DELETE):
        _cookie_writes(cfg)  # once per run: the browser component has one key
    if state.get("authentication_status") is not True and cfg.sso is not None:
        _sso_sign_in(cfg)
    principal = principal_from_session(state)
    state[_PRINCIPAL] = principal
    return principal


def _now() -> float:
    return time.time()


def _revoked(rt: Runtime, sid: str, *, if_unknown: bool) -> bool:
    """Ask the deny-list; when it cannot answer, ``if_unknown`` decides (and the log says so).

    A running session stays on through a deny-list outage (it was checked when it started);
    a cookie sign-in does not (the visitor gets the form).
    """
    try:
        return rt.security.revoked.is_revoked(sid)
    except Exception as exc:
        log.warning("revoked sessions unavailable (%s); %s", type(exc).__name__,
                    "refusing the cookie" if if_unknown else "keeping the running session")
        return if_unknown


def _revocation_reason(cfg: AuthConfig, rt: Runtime, *, username: str, sid: object,
                       version: object, if_unknown: bool = False) -> str | None:
    """Why a password or cookie session may not go on (None: it may)."""
    user = cfg.credentials.get(username)
    if user is None:
        return "your account was removed"
    if not isinstance(sid, str) or not isinstance(version, str):
        return "the session carries no session id"
    if cookie.credential_version(user) != version:
        return "your password, role or apps changed"
    if _revoked(rt, sid, if_unknown=if_unknown):
        return "this session was signed out"
    return None


def _recheck(cfg: AuthConfig, rt: Runtime) -> None:
    """Every run of a signed-in session: is its user still there, unchanged, not signed out?

    SSO sessions are the identity provider's (Streamlit's identity cookie, [sso_roles]); every
    other session is checked against the users file as it is now, so removing a user, changing
    a password, a role or the apps ends that user's open sessions at their next run.
    """
    state = st.session_state
    if state.get(_METHOD) == "sso":
        return
    username = str(state.get("username") or "")
    reason = _revocation_reason(cfg, rt, username=username, sid=state.get(_SID),
                                version=state.get(_VER))
    if reason is None:
        return
    audit("sign_out", user=username or "(none)", outcome="denied",
          method=state.get(_METHOD) or "session", detail=reason)
    _clear_session()
    state[_PENDING_DELETE] = _COOKIE_WRITE_RUNS
    state[_ERROR] = f"You were signed out: {reason}. Sign in again."


def _cookie_writes(cfg: AuthConfig) -> None:
    """Write or delete the re-login cookie, and keep doing so until the browser confirms.

    The cookie is written by a component in the browser. Another component (the cookie
    reader) can trigger a rerun before that one has loaded; a one-shot render would then be
    unmounted unexecuted. So the write is rendered again on the following runs until its
    component reports back (its value, kept under the widget keys "set" / "delete", turns
    True), at most ``_COOKIE_WRITE_RUNS`` runs. No st.rerun() here: that would drop the write.
    The component writes ``document.cookie``, so the cookie cannot be HttpOnly; it is
    ``SameSite=Strict`` and ``Secure`` whenever the page came over HTTPS.
    """
    state = st.session_state
    manager = stx.CookieManager(key="init")
    if int(state.get(_PENDING_DELETE) or 0) > 0:
        pending, widget = _PENDING_DELETE, "delete"
        with contextlib.suppress(KeyError):  # not listed by the component: still sent
            manager.delete(cfg.cookie.name, key="delete")
    elif int(state.get(_PENDING_COOKIE) or 0) > 0 and state.get(_COOKIE_VALUE):
        pending, widget = _PENDING_COOKIE, "set"
        expires = datetime.fromtimestamp(float(state.get(_EXP) or _now()), UTC)
        manager.set(cfg.cookie.name, str(state[_COOKIE_VALUE]), key="set", expires_at=expires,
                    secure=bool(state.get(_SECURE)) or None, same_site="strict")
    else:
        state.pop(_PENDING_COOKIE, None)
        return
    runs_left = int(state.get(pending) or 0)
    state[pending] = 0 if state.get(widget) is True else runs_left - 1
    if not state[pending]:
        state.pop(pending, None)
        if pending == _PENDING_COOKIE:
            state.pop(_COOKIE_VALUE, None)


def _clear_session() -> None:
    """Forget everything this session held; keep ``logout`` so the old cookie is not reused."""
    for k in list(st.session_state.keys()):
        del st.session_state[k]
    for k in _LIBRARY_KEYS:
        st.session_state[k] = None
    st.session_state["logout"] = True


def _sign_out(cfg: AuthConfig, rt: Runtime) -> None:
    state = st.session_state
    user = str(state.get("username") or "")
    method = state.get(_METHOD) or "session"
    sid = state.get(_SID)
    if isinstance(sid, str) and sid:
        until = float(state.get(_EXP) or _now() + cfg.cookie.lifetime_s)
        try:
            rt.security.revoked.revoke(sid, until=until)
        except Exception:  # the session still ends here; only a copied cookie outlives it
            log.exception("sign-out: could not record the revoked session")
    if user:
        audit("sign_out", user=user, outcome="success", method=method)
    _clear_session()
    state[_PENDING_DELETE] = _COOKIE_WRITE_RUNS
    if method == "sso" and cfg.sso is not None:
        st.logout()  # clears Streamlit's identity cookie and starts a new session


def _start_session(user: User, *, method: str, token: cookie.SessionToken) -> None:
    state = st.session_state
    state.update(user_session(user))
    state[_METHOD] = method
    state[_SID] = token.sid
    state[_VER] = token.version
    state[_EXP] = token.expires_at


def _cookie_sign_in(cfg: AuthConfig, rt: Runtime) -> None:
    """Re-login from the signed cookie (a reload or a new tab), before st.navigation.

    A cookie that is malformed, forged, signed with another algorithm, expired, revoked, or
    made for credentials that changed since is treated as no cookie and deleted.
    """
    state = st.session_state
    if state.get("logout") or state.get(_PENDING_DELETE):
        return
    cookies, _, _ = _request()
    raw = cookies.get(cfg.cookie.name)
    # The request's cookies are those of the session's first request: a cookie refused once
    # is still there on every later run of the session, and is not judged (or deleted) again.
    if raw is None or raw == state.get(_REJECTED):
        return
    token = cookie.read(raw, key=cfg.cookie.key, now=_now())
    reason = ("the cookie is not a valid session" if token is None else _revocation_reason(
        cfg, rt, username=token.username, sid=token.sid, version=token.version,
        if_unknown=True))
    user = cfg.credentials.get(token.username) if token is not None else None
    if reason is not None or token is None or user is None:
        audit("sign_in", user=token.username if token else "(cookie)", outcome="denied",
              method="cookie", detail=reason or "unknown user")
        state[_REJECTED] = raw
        state[_PENDING_DELETE] = _COOKIE_WRITE_RUNS
        return
    _start_session(user, method="cookie", token=token)
    audit("sign_in", user=user.username, outcome="success", method="cookie")


def _sso_claims(cfg: AuthConfig) -> dict[str, Any] | None:
    if cfg.sso is None:
        return None
    try:
        claims = dict(st.user.to_dict())
    except Exception:  # no identity at all is simply "not signed in"
        return None
    return claims if claims.get("is_logged_in") is True else None


def _sso_sign_in(cfg: AuthConfig) -> None:
    assert cfg.sso is not None
    claims = _sso_claims(cfg)
    if claims is None:
        return
    state = st.session_state
    username, name = sso.identity(claims)
    grant = sso.map_claims(claims, cfg.sso)
    if grant is None or not username:
        if state.get(_SSO_DENIED) != username:
            audit("sign_in", user=username or "(no email)", outcome="denied", method="sso",
                  detail="no [sso_roles] rule matches")
            state[_SSO_DENIED] = username
        return
    state.update(grant_session(username, name, grant))
    state[_METHOD] = "sso"
    state.pop(_SSO_DENIED, None)
    audit("sign_in", user=username, outcome="success", method="sso")


# -- navigation and the sidebar -----------------------------------------------------------------
def navigation(principal: Principal) -> tuple[list[st.Page], str]:
    """``(pages, position)`` for ``st.navigation``; draws the account box when signed in.

    Signed out: only the login page — as the default and, hidden, under every other page's URL
    path. A deep link (``/costs``) therefore opens the login form without a "page not found",
    and the run after a successful sign-in asks for the same page hash, which is now the real
    page: the visitor lands where they were going.
    """
    specs = pages_for(principal)
    if not specs:
        default = next(p for p in PAGES if p.default)
        lock = ":material/lock:"
        pages = [st.Page(LOGIN_PAGE, title="Sign in", icon=lock, url_path=default.url_path,
                         default=True)]
        pages += [st.Page(LOGIN_PAGE, title="Sign in", icon=lock, url_path=p.url_path,
                          visibility="hidden") for p in PAGES if not p.default]
        return pages, "hidden"
    account_box(principal)
    has_default = any(p.default for p in specs)
    return [st.Page(p.path, title=p.title, icon=p.icon, default=p.default or (
        not has_default and i == 0)) for i, p in enumerate(specs)], "sidebar"


def _md(text: str) -> str:
    """Escape Markdown so a display name from a token or a file is shown, not interpreted."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$" else c for c in text)


def _request_sign_out() -> None:
    st.session_state[_SIGN_OUT] = True


def account_box(principal: Principal) -> None:
    """"Signed in as" with the sign-out button, at the top of the sidebar.

    A popover rather than a caption: page tests read ``at.caption[-1]`` / ``at.markdown`` for
    their own footers, and sidebar elements come last in those lists.
    """
    name = str(st.session_state.get("name") or principal.username)
    scope = ("all apps" if principal.apps is None
             else ", ".join(sorted(principal.apps)) or "no apps")
    with st.sidebar.popover(f"Signed in as {_md(name)}", icon=":material/account_circle:",
                            help=f"{principal.username} · role {principal.role} · {scope}",
                            width="stretch"):
        st.button("Sign out", key=SIGN_OUT_KEY, on_click=_request_sign_out,
                  icon=":material/logout:", width="stretch")


# -- the login page -----------------------------------------------------------------------------
def _on_submit() -> None:
    """Form callback: runs before the script, so this very run already sees the new session."""
    state = st.session_state
    username = str(state.get(USER_KEY) or "")
    password = str(state.get(PASS_KEY) or "")
    state[PASS_KEY] = ""  # the password never stays in the session
    try:
        rt = get_runtime()
        cfg = load_config(rt)
    except (AuthConfigError, CredentialsError, CatalogError, SettingsError) as exc:
        log.error("sign-in is not configured: %s", exc)
        state[_ERROR] = NOT_CONFIGURED
        return
    result = sign_in(cfg.credentials, username, password, client=_client(cfg),
                     throttle=rt.security.attempts)
    if not result.ok or result.user is None:
        state["authentication_status"] = False
        state[_ERROR] = result.message
        return
    token, raw = cookie.issue(result.user, key=cfg.cookie.key, now=_now(),
                              lifetime_s=cfg.cookie.lifetime_s)
    _start_session(result.user, method="password", token=token)
    state[_COOKIE_VALUE] = raw
    state[_SECURE] = _secure_request()
    state[_PENDING_COOKIE] = _COOKIE_WRITE_RUNS
    for k in (_ERROR, _PENDING_DELETE, "set", "delete", "logout"):  # a fresh confirmation
        state.pop(k, None)


def login_page() -> None:
    """The only page a signed-out visitor can reach: the form, and SSO when configured."""
    cfg = _config_or_stop()
    state = st.session_state
    st.title("Central Analytics")
    error = state.pop(_ERROR, None)
    if error:
        st.error(error, icon="🔒")
    with st.form(FORM_KEY):
        st.subheader("Sign in")
        st.text_input("Username", key=USER_KEY, autocomplete="username")
        st.text_input("Password", type="password", key=PASS_KEY,
                      autocomplete="current-password")
        st.form_submit_button("Login", type="primary", on_click=_on_submit)
    if cfg.sso is not None:
        _sso_controls(cfg)


def _sso_controls(cfg: AuthConfig) -> None:
    assert cfg.sso is not None
    denied = st.session_state.get(_SSO_DENIED)
    if denied:
        st.warning(f"You are signed in at the identity provider as {denied}, but no "
                   "[sso_roles] rule gives that account access. Ask an admin.")
        if st.button("Sign out of SSO", key="sso_logout"):
            st.session_state.pop(_SSO_DENIED, None)
            st.logout()
        return
    st.divider()
    available = sso.authlib_available()
    if not available:
        st.warning("SSO is configured, but the Authlib package is missing "
                   "(`pip install Authlib`), so `st.login` cannot run.")
    if st.button("Sign in with SSO", key="sso_login", icon=":material/key:",
                 disabled=not available):
        if cfg.sso.provider:
            st.login(cfg.sso.provider)
        else:
            st.login()
