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

import json
import logging
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from analytics.auth import cookie, sso
from analytics.auth.audit import audit
from analytics.auth.config import AuthConfig, AuthConfigError, default_credentials_path
from analytics.auth.config import load_auth_config as _load_auth_config
from analytics.auth.credentials import CredentialsError
from analytics.auth.pages import LOGIN_PAGE, PAGES, pages_for
from analytics.auth.session import (
    grant_session,
    principal_from_session,
    sign_in,
)
from analytics.core import access
from analytics.core.access import ANONYMOUS, Principal
from analytics.core.catalog import CatalogError
from analytics.core.settings import SettingsError
from analytics.sources import Runtime, get_runtime
from analytics.ui import sessions
from analytics.ui.context import runtime

log = logging.getLogger(__name__)

USER_KEY = "login_username"
PASS_KEY = "login_password"
FORM_KEY = "Login"  # with the "Login" button: AppTest key FormSubmitter:Login-Login
SIGN_OUT_KEY = "auth_sign_out"
_SIGN_OUT = "_auth_sign_out_requested"
_SSO_DENIED = "_auth_sso_denied"
_PRINCIPAL = "_auth_principal"
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
        st.error(NOT_CONFIGURED + advice, icon=":material/lock:")
        st.stop()
        raise  # unreachable: st.stop() raises


# -- the gate -----------------------------------------------------------------------------------
def deadline() -> AbstractContextManager[None]:
    """The page deadline around the gate (it may read the deny-list on aws)."""
    rt = runtime()
    return rt.cache.deadline(rt.settings.page_deadline_s)


def gate() -> Principal:
    """Decide who this run belongs to; ANONYMOUS unless positively signed in (fail closed)."""
    access.set_principal(ANONYMOUS)
    state = st.session_state
    state[_PRINCIPAL] = ANONYMOUS
    for k in sessions.LIBRARY_KEYS:  # the shape streamlit-authenticator gives a fresh session
        state.setdefault(k, None)
    cfg = _config_or_stop()
    rt = runtime()
    if state.get(_SIGN_OUT):
        _sign_out(cfg, rt)
    if state.get("authentication_status") is True:
        sessions.recheck(cfg, rt)
    if state.get("authentication_status") is not True:
        sessions.cookie_sign_in(cfg, rt)
    if state.get(sessions.PENDING_COOKIE) or state.get(sessions.PENDING_DELETE):
        sessions.cookie_writes(cfg)  # once per run: the browser component has one key
    if state.get("authentication_status") is not True and cfg.sso is not None:
        _sso_sign_in(cfg)
    principal = principal_from_session(state)
    state[_PRINCIPAL] = principal
    return principal


def _sign_out(cfg: AuthConfig, rt: Runtime) -> None:
    state = st.session_state
    user = str(state.get("username") or "")
    method = state.get(sessions.METHOD) or "session"
    sid = state.get(sessions.SID)
    if isinstance(sid, str) and sid:
        until = float(state.get(sessions.EXP) or sessions.now() + cfg.cookie.lifetime_s)
        try:
            rt.security.revoked.revoke(sid, until=until)
            rt.cache.forget("sessions", sid)
        except Exception:  # the session still ends here; only a copied cookie outlives it
            log.exception("sign-out: could not record the revoked session")
    if user:
        audit("sign_out", user=user, outcome="success", method=method)
    sessions.clear_session()
    state[sessions.PENDING_DELETE] = sessions.COOKIE_WRITE_RUNS
    if method == "sso" and cfg.sso is not None:
        st.logout()  # clears Streamlit's identity cookie and starts a new session


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
    state[sessions.METHOD] = "sso"
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
        state[sessions.ERROR] = NOT_CONFIGURED
        return
    result = sign_in(cfg.credentials, username, password, client=sessions.client(cfg),
                     throttle=rt.security.attempts)
    if not result.ok or result.user is None:
        state["authentication_status"] = False
        state[sessions.ERROR] = result.message
        return
    token, raw = cookie.issue(result.user, key=cfg.cookie.key, now=sessions.now(),
                              lifetime_s=cfg.cookie.lifetime_s)
    sessions.start_session(result.user, method="password", token=token)
    state[sessions.COOKIE_VALUE] = raw
    state[sessions.SECURE] = sessions.secure_request()
    state[sessions.PENDING_COOKIE] = sessions.COOKIE_WRITE_RUNS
    # a new write waits for a fresh confirmation
    for k in (sessions.ERROR, sessions.PENDING_DELETE, "set", "delete", "logout"):
        state.pop(k, None)


def login_page() -> None:
    """The only page a signed-out visitor can reach: the form, and SSO when configured."""
    cfg = _config_or_stop()
    state = st.session_state
    st.title("Central Analytics")
    error = state.pop(sessions.ERROR, None)
    if error:
        st.error(error, icon=":material/lock:")
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
