"""Where the login gate's settings come from, and the checks that refuse a weak setup.

Order (the environment wins, as for every other setting; the variables arrive as
:class:`~analytics.core.settings.AuthSettings`, never from ``os.environ`` here):

- cookie: ``AUTH_COOKIE_NAME`` / ``AUTH_COOKIE_KEY`` / ``AUTH_COOKIE_EXPIRY_DAYS``, else
  secrets.toml ``[auth_cookie] name / key / expiry_days``; expiry defaults to 8 hours (the
  cookie cannot be HttpOnly, so a stolen copy should not live long). The merged values are
  validated by :class:`CookieSettings`.
- ``AUTH_TRUSTED_PROXIES``: the load balancer's networks, the only peers whose
  ``X-Forwarded-For`` names the client (:mod:`analytics.auth.client`).
- users: ``AUTH_CREDENTIALS_YAML`` (the YAML text: how the ECS task receives it from Secrets
  Manager), else secrets.toml ``[credentials]``, else the file ``AUTH_CREDENTIALS_FILE``, else
  ``<data dir>/credentials.yaml``.
- SSO: an ``[auth]`` section in secrets.toml (see :mod:`analytics.auth.sso`).

On the aws backend a missing, known-default or short cookie key stops the start: the cookie is
an HS256 JWT, so whoever knows the key can mint a session for any user. On the local backend a
missing key is generated once into ``<data dir>/cookie_key`` and a missing users file is created
with one admin and a random password printed once — never a fixed default password.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from analytics.auth.client import Network, TrustedProxiesError, parse_trusted_proxies
from analytics.auth.credentials import (
    Credentials,
    CredentialsError,
    User,
    hash_password,
    load_file,
    parse_credentials,
    parse_yaml,
    random_password,
)
from analytics.auth.sso import SsoConfig, SsoConfigError, parse_sso
from analytics.core.settings import AuthSettings
from analytics.core.validation import first_problem

DEFAULT_COOKIE_NAME = "central_analytics_auth"
DEFAULT_EXPIRY_DAYS = 8 / 24
MAX_EXPIRY_DAYS = 30.0
MIN_KEY_BYTES = 32
GENERATE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
#: Keys from streamlit-authenticator's and Streamlit's docs, and the usual placeholders.
KNOWN_DEFAULT_KEYS = frozenset({
    "some_key", "some_signature_key", "random_signature_key", "some_cookie_key", "abcdef",
    "changeme", "change-me", "change_me", "secret", "secret_key", "mysecret", "supersecret",
    "your_secret_key", "your-secret-key", "cookie_key", "key", "password", "xxx", "streamlit",
})
_PLACEHOLDER_HINTS = ("replace", "changeme", "change_me", "change-me", "example", "your_key",
                      "signature_key", "generate")
_COOKIE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class AuthConfigError(ValueError):
    """The sign-in setup is unsafe or incomplete; the message says how to fix it.

    ``public``: the message is fixed advice holding no configuration value (a refused cookie
    key, nobody configured), so the login page may show it; anything else goes to the log only.
    """

    def __init__(self, message: str, *, public: bool = False) -> None:
        super().__init__(message)
        self.public = public


class CookieSettings(BaseModel):
    """The re-login cookie, once the environment and ``[auth_cookie]`` are merged."""

    model_config = ConfigDict(frozen=True)

    name: str
    key: str = Field(repr=False)
    expiry_days: float

    @field_validator("name")
    @classmethod
    def _cookie_name(cls, name: str) -> str:
        if not _COOKIE_NAME.match(name):
            raise ValueError(f"cookie name {name!r}: use 1-64 characters A-Z a-z 0-9 _ -")
        return name

    @field_validator("expiry_days", mode="before")
    @classmethod
    def _days(cls, raw: Any) -> float:
        try:
            days = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"AUTH_COOKIE_EXPIRY_DAYS={raw!r}: expected a number of days "
                             "(e.g. 1 or 0.5)") from None
        if not 0 < days <= MAX_EXPIRY_DAYS:
            raise ValueError(f"AUTH_COOKIE_EXPIRY_DAYS={raw!r}: expected more than 0 and at "
                             f"most {MAX_EXPIRY_DAYS:g} days")
        return days

    @property
    def lifetime_s(self) -> float:
        return self.expiry_days * 86_400.0


@dataclass(frozen=True)
class AuthConfig:
    backend: str
    cookie: CookieSettings
    credentials: Credentials
    sso: SsoConfig | None
    warnings: tuple[str, ...] = ()
    trusted_proxies: tuple[Network, ...] = ()


def cookie_key_problem(key: str | None) -> str | None:
    """Why ``key`` may not sign session cookies, or None when it is acceptable."""
    if not key or not key.strip():
        return "the cookie key is missing"
    k = key.strip()
    if k.lower() in KNOWN_DEFAULT_KEYS or any(h in k.lower() for h in _PLACEHOLDER_HINTS):
        return "the cookie key is a known default or placeholder"
    if len(k.encode("utf-8")) < MIN_KEY_BYTES:
        return f"the cookie key is shorter than {MIN_KEY_BYTES} bytes"
    if len(set(k)) < 8:
        return "the cookie key repeats too few characters to be random"
    return None


def check_cookie_key(key: str | None) -> None:
    """Raise :class:`AuthConfigError` with the fix when ``key`` is unsafe."""
    problem = cookie_key_problem(key)
    if problem:
        raise AuthConfigError(
            f"Refusing to start: {problem}. Set AUTH_COOKIE_KEY (or [auth_cookie] key in "
            f".streamlit/secrets.toml) to at least {MIN_KEY_BYTES} random bytes, e.g. the output "
            f"of: {GENERATE_KEY}", public=True)


def _local_cookie_key(data_dir: Path) -> str:
    """A per-install random key kept in ``<data dir>/cookie_key`` so cookies survive restarts."""
    path = data_dir / "cookie_key"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def _revealed(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def load_cookie(backend: str, *, data_dir: Path, secrets_: Mapping[str, Any],
                auth: AuthSettings) -> tuple[CookieSettings, list[str]]:
    table = secrets_.get("auth_cookie") or {}
    if not isinstance(table, Mapping):
        raise AuthConfigError("[auth_cookie] in secrets.toml must be a table")
    key = _revealed(auth.cookie_key) or table.get("key")
    warnings: list[str] = []
    if backend == "aws":
        check_cookie_key(key)
    elif not key:
        key = _local_cookie_key(data_dir)
    elif cookie_key_problem(key):
        warnings.append(f"weak cookie key on the local backend ({cookie_key_problem(key)}); "
                        "the aws backend would refuse it")
    try:
        cookie = CookieSettings.model_validate({
            "name": str(auth.cookie_name or table.get("name") or DEFAULT_COOKIE_NAME),
            "key": str(key).strip(),
            "expiry_days": auth.cookie_expiry_days or table.get("expiry_days")
            or DEFAULT_EXPIRY_DAYS})
    except ValidationError as exc:
        raise AuthConfigError(first_problem(exc).message) from None
    return cookie, warnings


_bootstrap_lock = threading.Lock()


def bootstrap_local_admin(path: Path, out: TextIO | None = None) -> bool:
    """Create ``path`` with one admin and a random password, printed once; False if it exists.

    ``os.link`` of a finished temporary file publishes it only if no other process got there
    first, so two servers starting together never print a password that does not work.
    """
    with _bootstrap_lock:
        if path.exists():
            return False
        password = random_password()
        creds = Credentials({"admin": User("admin", hash_password(password), "Administrator",
                                           role="admin", apps=None)}, str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(creds.dump())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
    lines = ["Central Analytics: first run, no users were configured.",
             "Created the administrator account:",
             "    username: admin",
             f"    password: {password}",
             "This password is shown once and stored only as a bcrypt hash in",
             f"    {path}",
             "Change it:  python -m analytics.cli.users passwd admin",
             "Add users:  python -m analytics.cli.users add <name> --role viewer --apps jobseek"]
    width = max(len(line) for line in lines) + 2
    box = ["+" + "-" * width + "+", *[f"| {line.ljust(width - 1)}|" for line in lines],
           "+" + "-" * width + "+"]
    stream = out or sys.stderr
    stream.write("\n" + "\n".join(box) + "\n\n")
    stream.flush()
    return True


def default_credentials_path(data_dir: Path, auth: AuthSettings) -> Path:
    """``AUTH_CREDENTIALS_FILE``, else ``<data dir>/credentials.yaml`` (the CLI edits the same)."""
    return auth.credentials_file or data_dir / "credentials.yaml"


def load_credentials(backend: str, *, data_dir: Path, secrets_: Mapping[str, Any],
                     auth: AuthSettings, out: TextIO | None = None) -> Credentials:
    text = _revealed(auth.credentials_yaml)
    if text and text.strip():
        return parse_yaml(text, "AUTH_CREDENTIALS_YAML")
    if secrets_.get("credentials"):
        return parse_credentials(secrets_["credentials"], "secrets.toml [credentials]")
    path = default_credentials_path(data_dir, auth)
    if auth.credentials_file is not None and not path.is_file():
        raise AuthConfigError(f"AUTH_CREDENTIALS_FILE={path}: no such file")
    if path.is_file():
        return load_file(path)
    if backend == "local":
        bootstrap_local_admin(path, out)
        return load_file(path)
    return Credentials({}, "(none)")


def load_auth_config(backend: str, *, data_dir: Path,
                     secrets_: Mapping[str, Any] | None = None,
                     auth: AuthSettings | None = None,
                     out: TextIO | None = None) -> AuthConfig:
    """Everything the gate needs; raises :class:`AuthConfigError` with a fix-it message.

    ``auth`` holds the ``AUTH_*`` variables (``settings.auth``); None means none are set.
    """
    if auth is None:
        auth = AuthSettings()
    secrets_ = dict(secrets_ or {})
    cookie, warnings = load_cookie(backend, data_dir=data_dir, secrets_=secrets_, auth=auth)
    try:
        creds = load_credentials(backend, data_dir=data_dir, secrets_=secrets_, auth=auth, out=out)
        sso = parse_sso(secrets_)
        trusted = parse_trusted_proxies(auth.trusted_proxies)
    except (CredentialsError, SsoConfigError, TrustedProxiesError) as exc:
        raise AuthConfigError(str(exc)) from exc
    if not creds.users and sso is None:
        raise AuthConfigError(
            "Nobody can sign in: no users are configured. Set AUTH_CREDENTIALS_YAML (or "
            "AUTH_CREDENTIALS_FILE) to a users file made with `python -m analytics.cli.users add`, "
            "or configure SSO with an [auth] section in .streamlit/secrets.toml.", public=True)
    if sso is not None and not sso.has_rules:
        warnings.append("[auth] is configured but [sso_roles] has no rules: SSO users get no "
                        "access")
    return AuthConfig(backend, cookie, creds, sso, tuple(warnings), trusted)
