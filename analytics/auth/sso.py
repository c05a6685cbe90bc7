"""SSO through Streamlit's native OIDC (``st.login``): which claims give which role and apps.

Streamlit handles the OIDC dance when secrets.toml has an ``[auth]`` section; what it cannot know
is what a signed-in identity may see. That mapping lives in ``[sso_roles]``::

    [sso_roles]
    groups_claim = "cognito:groups"      # claim holding the user's groups (Cognito's default)
    require_verified_email = true        # ignore email/domain rules unless email_verified

    [sso_roles.groups]                   # group name -> grant
    dashboard-admins = { role = "admin", apps = ["*"] }
    jobseek-team     = { role = "viewer", apps = ["jobseek"] }

    [sso_roles.emails]                   # one address -> grant (wins over groups)
    "cto@example.com" = { role = "admin", apps = ["*"] }

    [sso_roles.domains]                  # every verified address of a domain
    "example.com" = { role = "viewer", apps = ["jobseek"] }

An email rule decides alone; otherwise the grants of every matching group and the domain are
merged (admin if any says admin, the union of apps). No rule matching means no access: signing in
at the identity provider is not enough to see a number. Everything here is pure functions, so it
is tested without an identity provider.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analytics.auth.credentials import CredentialsError, parse_apps
from analytics.core.access import ROLES

DEFAULT_GROUPS_CLAIM = "cognito:groups"


class SsoConfigError(ValueError):
    """``[sso_roles]`` is malformed; the message names the rule."""


@dataclass(frozen=True)
class Grant:
    role: str
    apps: frozenset[str] | None  # None: every app

    def merge(self, other: Grant) -> Grant:
        role = "admin" if "admin" in (self.role, other.role) else "viewer"
        apps = None if self.apps is None or other.apps is None else self.apps | other.apps
        return Grant(role, apps)


@dataclass(frozen=True)
class SsoConfig:
    provider: str | None = None  # None: the single unnamed provider of [auth]
    groups_claim: str = DEFAULT_GROUPS_CLAIM
    require_verified_email: bool = True
    groups: dict[str, Grant] = field(default_factory=dict)
    emails: dict[str, Grant] = field(default_factory=dict)
    domains: dict[str, Grant] = field(default_factory=dict)

    @property
    def has_rules(self) -> bool:
        return bool(self.groups or self.emails or self.domains)


def _grant(raw: Any, where: str) -> Grant:
    if not isinstance(raw, Mapping):
        raise SsoConfigError(f"{where}: expected {{ role = \"viewer\", apps = [\"jobseek\"] }}")
    role = raw.get("role", "viewer")
    if role not in ROLES:
        raise SsoConfigError(f"{where}: unknown role {role!r}, expected one of {ROLES}")
    try:
        apps = parse_apps(raw.get("apps", ["*"] if role == "admin" else None), where)
    except CredentialsError as exc:
        raise SsoConfigError(str(exc)) from exc
    return Grant(role, None if apps is None else frozenset(apps))


def _table(raw: Any, name: str, lower: bool) -> dict[str, Grant]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SsoConfigError(f"[sso_roles.{name}] must be a table")
    return {(k.lower() if lower else k): _grant(v, f"[sso_roles.{name}] {k!r}")
            for k, v in raw.items()}


#: Keys of ``[auth]`` that belong to the unnamed default provider, not provider tables.
_DEFAULT_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url", "client_kwargs",
                          "expose_tokens")


def provider_of(auth: Mapping[str, Any]) -> str | None:
    """The provider name for ``st.login``: None for the unnamed provider (``client_id`` at the
    top of ``[auth]``), else the first ``[auth.<name>]`` table that has a ``client_id``."""
    if auth.get("client_id"):
        return None
    named = [k for k, v in auth.items() if isinstance(v, Mapping)
             and k not in _DEFAULT_PROVIDER_KEYS and v.get("client_id")]
    return named[0] if named else None


def parse_sso(secrets: Mapping[str, Any]) -> SsoConfig | None:
    """SSO settings from secrets, or None when there is no ``[auth]`` section."""
    auth = secrets.get("auth")
    if not isinstance(auth, Mapping) or not auth:
        return None
    raw = secrets.get("sso_roles") or {}
    if not isinstance(raw, Mapping):
        raise SsoConfigError("[sso_roles] must be a table")
    provider = raw.get("provider") or provider_of(auth)
    if provider is not None and provider not in auth:
        raise SsoConfigError(f"[sso_roles] provider {provider!r} has no [auth.{provider}] table")
    return SsoConfig(
        provider=provider,
        groups_claim=str(raw.get("groups_claim", DEFAULT_GROUPS_CLAIM)),
        require_verified_email=bool(raw.get("require_verified_email", True)),
        groups=_table(raw.get("groups"), "groups", lower=False),
        emails=_table(raw.get("emails"), "emails", lower=True),
        domains=_table(raw.get("domains"), "domains", lower=True),
    )


def claim_groups(claims: Mapping[str, Any], claim: str) -> list[str]:
    """Groups from a claim that may be a list, or a string (comma/space separated)."""
    raw = claims.get(claim)
    if isinstance(raw, str):
        return [g for g in raw.replace(",", " ").split() if g]
    if isinstance(raw, list | tuple):
        return [str(g) for g in raw]
    return []


def identity(claims: Mapping[str, Any]) -> tuple[str, str]:
    """(username, display name): the lower-cased email, else the subject."""
    email = str(claims.get("email") or "").strip().lower()
    user = email or str(claims.get("sub") or "").strip()
    name = str(claims.get("name") or claims.get("given_name") or user)
    return user, name


def map_claims(claims: Mapping[str, Any], cfg: SsoConfig) -> Grant | None:
    """The grant for these identity-token claims, or None (no access)."""
    if claims.get("is_logged_in") is False:
        return None
    email = str(claims.get("email") or "").strip().lower()
    verified = claims.get("email_verified")
    email_ok = bool(email) and (not cfg.require_verified_email
                                or verified is True or str(verified).lower() == "true")
    if email_ok and email in cfg.emails:
        return cfg.emails[email]
    grant: Grant | None = None
    for g in claim_groups(claims, cfg.groups_claim):
        if g in cfg.groups:
            grant = cfg.groups[g] if grant is None else grant.merge(cfg.groups[g])
    if email_ok and "@" in email:
        dom = cfg.domains.get(email.rsplit("@", 1)[1])
        if dom is not None:
            grant = dom if grant is None else grant.merge(dom)
    return grant


def authlib_available() -> bool:
    """``st.login`` needs Authlib >= 1.3.2; without it the SSO button would only raise."""
    return importlib.util.find_spec("authlib") is not None
